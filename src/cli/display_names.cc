#include "display_names.h"

#include <unistd.h>

#include <cstdio>

#include "console.h"
#include "hyper/util/bytes.h"

namespace hyper::cli {
namespace {

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Characters a shell reads as themselves anywhere in a word.
bool IsShellSafe(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '%':
    case '+':
    case ',':
    case '-':
    case '.':
    case '/':
    case ':':
    case '@':
    case '_':
      return true;
    default:
      return false;
  }
}

// The length of the valid UTF-8 sequence at text[i], 0 when the bytes there are not one.
size_t Utf8Length(std::string_view text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xe0) == 0xc0) {
    n = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (b & 0x3f);
  }
  // Overlong forms, surrogates and code points beyond Unicode are not valid.
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// A C1 control (U+0080..U+009F): some terminals obey them as escape sequences.
bool IsC1(std::string_view text, size_t i, size_t n) {
  return n == 2 && static_cast<unsigned char>(text[i]) == 0xc2 &&
         static_cast<unsigned char>(text[i + 1]) < 0xa0;
}

void AppendEscaped(std::string& out, unsigned char c) {
  switch (c) {
    case '\a':
      out += "\\a";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\v':
      out += "\\v";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\r':
      out += "\\r";
      return;
    default: {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    }
  }
}

// GNU's shell-escape quoting: printable runs in '...' (a quote as '\''), each unprintable
// byte as $'\n' or $'\ooo'.
std::string ShellEscape(std::string_view name, bool escape_invalid_utf8) {
  std::string out;
  bool in_quotes = false;
  bool in_dollar = false;
  auto close = [&] {
    if (in_quotes || in_dollar) out += '\'';
    in_quotes = in_dollar = false;
  };
  for (size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    size_t n = Utf8Length(name, i);
    const bool bad = IsControl(c) || (n == 0 && escape_invalid_utf8) || IsC1(name, i, n);
    if (bad) {
      if (!in_dollar) {
        close();
        out += "$'";
        in_dollar = true;
      }
      if (n <= 1 || !IsC1(name, i, n)) {
        AppendEscaped(out, c);
        i++;
      } else {
        for (size_t k = 0; k < n; k++) AppendEscaped(out, static_cast<unsigned char>(name[i + k]));
        i += n;
      }
      continue;
    }
    if (n == 0) n = 1;  // an invalid byte printed as it is (not on a terminal)
    if (!in_quotes) {
      close();
      out += '\'';
      in_quotes = true;
    }
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.append(name.substr(i, n));
    }
    i += n;
  }
  close();
  return out;
}

}  // namespace

bool StdoutIsTerminal() { return Console::Current().out_tty(); }

std::string MessageName(std::string_view name) {
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (IsControl(u) || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8Length(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string DisplayName(std::string_view name, bool terminal) {
  if (name.empty()) return "''";
  bool control = false;
  bool plain = true;  // every byte reads as itself in a shell
  for (size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    const size_t n = Utf8Length(name, i);
    if (IsControl(c)) control = true;
    if (n == 0 || IsC1(name, i, n)) {
      if (terminal) control = true;
      plain = false;
      i++;
      continue;
    }
    if (n == 1 && !IsShellSafe(c)) plain = false;
    i += n;
  }
  if (!terminal) return control ? ShellEscape(name, false) : std::string(name);
  if (plain) return std::string(name);
  return ShellEscape(name, true);
}

void SetJsonText(nlohmann::json& j, const std::string& key, std::string_view text) {
  if (IsValidUtf8(text)) {
    j[key] = std::string(text);
    return;
  }
  std::string fixed;
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8Length(text, i);
    if (n == 0) {
      fixed += "\xef\xbf\xbd";
      i++;
    } else {
      fixed.append(text.substr(i, n));
      i += n;
    }
  }
  j[key] = fixed;
  j[key + "Hex"] = ToHex(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace hyper::cli
