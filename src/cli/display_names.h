// How the commands print names that come from drives (file names, link targets, tag names),
// which may be anyone's: a hostile name must not drive the terminal (escape sequences) nor pass
// for two entries (a newline).
//
// As GNU ls: on a terminal, names are shown in shell-escape quoting ('a b', 'it'\''s',
// 'x'$'\n''y'), so what is printed can be pasted back into a shell. Elsewhere (a pipe, a file)
// names are printed as they are, except a name holding a control byte (0x00-0x1f, 0x7f), which
// is quoted the same way so that one line is always one entry and no escape sequence passes
// through. Scripts that need the exact bytes use --json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace hyper::cli {

// Whether stdout is a terminal (decides the quoting of names).
bool StdoutIsTerminal();
// `name` as it is shown on a terminal (`terminal`) or elsewhere.
std::string DisplayName(std::string_view name, bool terminal);
// `name` inside a one-line message on stderr (a warning or an error naming an entry): control
// bytes (0x00-0x1f, 0x7f) and backslashes as \xNN, every other byte as it is. Unlike
// DisplayName it never quotes, so that a message reads as a sentence whatever the name.
std::string MessageName(std::string_view name);
// Whether `text` is valid UTF-8.
bool IsValidUtf8(std::string_view text);
// j[key] = text, for JSON output: text that is not valid UTF-8 (which JSON cannot hold) is
// given with U+FFFD in place of each bad byte, and its exact bytes as key + "Hex".
void SetJsonText(nlohmann::json& j, const std::string& key, std::string_view text);

}  // namespace hyper::cli
