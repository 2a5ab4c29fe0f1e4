// The Content-Type of a file served by the gateway, from its name's extension (case-insensitive);
// application/octet-stream when unknown. Text types say charset=utf-8.
#pragma once

#include <string_view>

namespace hyper::gateway {

std::string_view ContentTypeFor(std::string_view path);

}  // namespace hyper::gateway
