#include "side_by_side.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "tests/support/node_harness.h"

namespace hyper::bench {

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string Machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown cpu";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  struct utsname u;
  uname(&u);
  return model + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores, " + u.sysname +
         " " + u.release;
}

nlohmann::json RunNodeTwin(const std::string& script, const nlohmann::json& cfg) {
  std::string path = std::string(HYPER_SOURCE_DIR) + "/bench/node/" + script;
  setenv("HYPER_INTEROP_DIR", hyper::testing::InteropDir().c_str(), 1);
  auto run = hyper::testing::RunProcess({"node", path, cfg.dump()});
  if (!run.ok() || run->exit_code != 0) {
    std::cerr << "the Node reference failed: "
              << (run.ok() ? run->stderr_text : run.status().ToString()) << "\n";
    std::exit(1);
  }
  auto parsed = nlohmann::json::parse(run->stdout_text, nullptr, false);
  if (parsed.is_discarded()) {
    std::cerr << "the Node reference printed something that is not JSON: " << run->stdout_text;
    std::exit(1);
  }
  return parsed;
}

void Report(const nlohmann::json& ours, const nlohmann::json& node, const nlohmann::json& cfg,
            const std::string& out_path) {
  nlohmann::json report = {
      {"machine", Machine()}, {"config", cfg}, {"workloads", nlohmann::json::object()}};
  std::printf("%-18s %14s %14s %8s  %s\n", "workload", "hyperdrive-cpp", "node", "ratio", "unit");
  for (const auto& [name, mine] : ours.items()) {
    if (!node.contains(name)) continue;
    double a = mine["value"], b = node[name]["value"];
    std::string unit = mine["unit"];
    bool rate = unit.size() > 2 && unit.compare(unit.size() - 2, 2, "/s") == 0;
    double ratio = rate ? a / b : b / a;
    std::printf("%-18s %14.1f %14.1f %7.2fx  %s\n", name.c_str(), a, b, ratio, unit.c_str());
    report["workloads"][name] = {{"ours", a}, {"node", b}, {"unit", unit}, {"ratio", ratio}};
  }
  std::printf("machine: %s\n", report["machine"].get<std::string>().c_str());
  std::ofstream(out_path) << report.dump(2) << "\n";
  std::cerr << "wrote " << out_path << "\n";
}

}  // namespace hyper::bench
