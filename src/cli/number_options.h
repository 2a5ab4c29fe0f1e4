// Every numeric option of every command is registered through AddNumberOption, so that all of
// them read numbers the same way: a sign, a fraction where a whole number is wanted, trailing
// garbage, or a number beyond the option's range is bad usage (exit 2) with one short message
// naming the option and what it takes, instead of a value that wraps (-1 as 2^64-1) or a
// message quoting a 300-digit limit.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "hyper/util/status.h"

namespace hyper::cli {

// The longest wait a --timeout takes: a day.
constexpr double kMaxSeconds = 86400;

// A whole number in [min, max] written in decimal digits only (no sign, no spaces);
// InvalidArgument naming what is wrong otherwise.
Result<uint64_t> ParseWholeNumber(std::string_view text, uint64_t min = 0,
                                  uint64_t max = std::numeric_limits<uint64_t>::max());
// A number of seconds: a positive decimal number ("10", "0.5") of at most `max`.
Result<double> ParseSeconds(std::string_view text, double max = kMaxSeconds);

// Registers `--name` reading a whole number in [min, max] (byte and block positions, versions).
CLI::Option* AddNumberOption(CLI::App* cmd, const std::string& name, uint64_t& target,
                             const std::string& help, uint64_t min = 0,
                             uint64_t max = std::numeric_limits<uint64_t>::max());
CLI::Option* AddNumberOption(CLI::App* cmd, const std::string& name,
                             std::optional<uint64_t>& target, const std::string& help,
                             uint64_t min = 0, uint64_t max = std::numeric_limits<uint64_t>::max());
// Registers `--name` reading a number of seconds (ParseSeconds).
CLI::Option* AddSecondsOption(CLI::App* cmd, const std::string& name, double& target,
                              const std::string& help);

}  // namespace hyper::cli
