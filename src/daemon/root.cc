#include "root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hyper/crypto/crypto.h"
#include "hyper/util/bytes.h"

namespace hyper::daemon {

namespace {
std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}
}  // namespace

Result<ClientConfig> ReadClientConfig(const Root& root) {
  ClientConfig c;
  c.endpoint = Env("HYPERDRIVE_ENDPOINT");
  c.token = Env("HYPERDRIVE_TOKEN");
  if (!c.endpoint.empty() && !c.token.empty()) return c;
  std::ifstream in(root.config_path());
  if (!in) {
    return Status::NotFound("no daemon configuration at " + root.config_path() +
                            " (start one with `hyperdrive start`)");
  }
  std::stringstream text;
  text << in.rdbuf();
  auto json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("endpoint") ||
      !json["endpoint"].is_string() || !json.contains("token") || !json["token"].is_string()) {
    return Status::Corruption(root.config_path() +
                              " is not a daemon configuration ({\"token\", \"endpoint\"})");
  }
  if (c.endpoint.empty()) c.endpoint = json["endpoint"].get<std::string>();
  if (c.token.empty()) c.token = json["token"].get<std::string>();
  if (json.contains("gateway") && json["gateway"].is_string()) {
    c.gateway = json["gateway"].get<std::string>();
  }
  return c;
}

Status WriteClientConfig(const Root& root, const ClientConfig& config) {
  nlohmann::json json{{"token", config.token}, {"endpoint", config.endpoint}};
  if (!config.gateway.empty()) json["gateway"] = config.gateway;
  const std::string text = json.dump();
  const std::string tmp = root.config_path() + ".tmp";
  // Created 0600 from the start: the token is never readable by others, not even briefly.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "creating " + tmp);
  (void)::fchmod(fd, 0600);  // an older file of the same name kept its mode through O_TRUNC
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Status::FromErrno(errno, "writing " + tmp);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return Status::FromErrno(errno, "writing " + tmp);
  if (::rename(tmp.c_str(), root.config_path().c_str()) != 0) {
    return Status::FromErrno(errno, "renaming " + tmp);
  }
  return Status::Ok();
}

std::string NewToken() {
  std::string fixed = Env("HYPERDRIVE_TOKEN");
  if (!fixed.empty()) return fixed;
  Bytes random(32);
  crypto::RandomBytes(random);
  return ToHex(random);
}

}  // namespace hyper::daemon
