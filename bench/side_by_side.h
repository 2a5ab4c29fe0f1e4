// What the side-by-side benchmark programs share: timing, the machine's description, running
// the Node twin of a workload set, and the table + JSON report of both figures and the ratio.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace hyper::bench {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since);

// "AMD EPYC, 2 cores, Linux 6.1": CPU model, online cores, kernel.
std::string Machine();

// Runs `node bench/node/<script> <cfg as JSON>` with the pinned reference of tests/interop and
// returns what it printed ({workload: {value, unit}}). Exits the program with a message when the
// reference fails: a benchmark without its comparison is no use.
nlohmann::json RunNodeTwin(const std::string& script, const nlohmann::json& cfg);

// Prints both figures and our ratio for every workload of `ours` (for rates, "…/s", higher is
// better; for times, sizes and counts lower is better: the ratio is always "how many times
// better we are"), and writes them with the machine and the configuration to `out_path`.
void Report(const nlohmann::json& ours, const nlohmann::json& node, const nlohmann::json& cfg,
            const std::string& out_path);

}  // namespace hyper::bench
