#include "paths.h"

namespace hyper::fuse {

std::string ParentOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string_view NameOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool IsAtOrBelow(std::string_view path, std::string_view dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  if (path.size() < dir.size() || path.substr(0, dir.size()) != dir) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

std::string Rebase(std::string_view path, std::string_view from, std::string_view to) {
  std::string_view rest = from == "/" ? path : path.substr(from.size());
  if (rest.empty() || rest == "/") return std::string(to);
  if (to == "/") return std::string(rest);
  return std::string(to) + std::string(rest);
}

}  // namespace hyper::fuse
