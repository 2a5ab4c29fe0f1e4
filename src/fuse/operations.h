// libfuse3's high-level operation table, bound to a Filesystem (the `private_data` of the
// fuse object).
#pragma once

#define FUSE_USE_VERSION 35
#include <fuse3/fuse.h>

namespace hyper::fuse {

const fuse_operations& Operations();

}  // namespace hyper::fuse
