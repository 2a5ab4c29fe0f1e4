// Path arithmetic of the FUSE layer. Paths are as the kernel hands them to libfuse's
// high-level API: absolute, '/'-separated, no "." or ".." and no trailing '/' (except "/").
#pragma once

#include <string>
#include <string_view>

namespace hyper::fuse {

// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "/".
std::string ParentOf(std::string_view path);
// "/a/b" -> "b"; "/" -> "".
std::string_view NameOf(std::string_view path);
// `path` is `dir` or lies below it ("/a/b" is below "/a", "/ab" is not).
bool IsAtOrBelow(std::string_view path, std::string_view dir);
// `path` (at or below `from`) moved to `to`: "/a/x" from "/a" to "/b" -> "/b/x".
// REQUIRES: IsAtOrBelow(path, from).
std::string Rebase(std::string_view path, std::string_view from, std::string_view to);

}  // namespace hyper::fuse
