#include "number_options.h"

#include <cstdio>
#include <cstdlib>

namespace hyper::cli {

Result<uint64_t> ParseWholeNumber(std::string_view text, uint64_t min, uint64_t max) {
  const std::string range =
      max == std::numeric_limits<uint64_t>::max()
          ? "a whole number of at least " + std::to_string(min)
          : "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  if (text.empty()) return Status::InvalidArgument("empty: give " + range);
  if (text[0] == '-')
    return Status::InvalidArgument("'" + std::string(text) + "' is negative: give " + range);
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return Status::InvalidArgument("'" + std::string(text) + "' is not " + range);
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return Status::InvalidArgument("'" + std::string(text) + "' is too large: give " + range);
    }
    value = value * 10 + digit;
  }
  if (value < min || value > max) {
    return Status::InvalidArgument(std::string(text) + " is out of range: give " + range);
  }
  return value;
}

Result<double> ParseSeconds(std::string_view text, double max) {
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g", max);
  const std::string want =
      "a positive number of seconds (such as 10 or 0.5), at most " + std::string(limit);
  // Digits with at most one '.', nothing else (no sign, exponent, "inf" or "nan").
  bool digit = false;
  int dots = 0;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.') {
      dots++;
    } else {
      return Status::InvalidArgument("'" + std::string(text) + "' is not " + want);
    }
  }
  if (!digit || dots > 1)
    return Status::InvalidArgument("'" + std::string(text) + "' is not " + want);
  const std::string copy(text);
  const double value = std::strtod(copy.c_str(), nullptr);
  if (!(value > 0) || !(value <= max)) {
    return Status::InvalidArgument(copy + " is out of range: give " + want);
  }
  return value;
}

namespace {

CLI::Validator WholeNumberValidator(uint64_t min, uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        auto parsed = ParseWholeNumber(text, min, max);
        if (!parsed.ok()) return parsed.status().message();
        text = std::to_string(*parsed);  // CLI11 would read "010" as octal 8
        return std::string();
      },
      "", "whole number");
}

}  // namespace

CLI::Option* AddNumberOption(CLI::App* cmd, const std::string& name, uint64_t& target,
                             const std::string& help, uint64_t min, uint64_t max) {
  return cmd->add_option(name, target, help)
      ->type_name("N")
      ->transform(WholeNumberValidator(min, max));
}

CLI::Option* AddNumberOption(CLI::App* cmd, const std::string& name,
                             std::optional<uint64_t>& target, const std::string& help, uint64_t min,
                             uint64_t max) {
  return cmd->add_option(name, target, help)
      ->type_name("N")
      ->transform(WholeNumberValidator(min, max));
}

CLI::Option* AddSecondsOption(CLI::App* cmd, const std::string& name, double& target,
                              const std::string& help) {
  return cmd->add_option(name, target, help)
      ->type_name("SECONDS")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            auto parsed = ParseSeconds(text);
            return parsed.ok() ? std::string() : parsed.status().message();
          },
          "", "seconds"));
}

}  // namespace hyper::cli
