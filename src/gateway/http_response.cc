// Status lines, reason phrases and the head of an answer.
#include "hyper/gateway/http_response.h"

namespace hyper::gateway {

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

HttpResponse TextResponse(int status, std::string_view why) {
  HttpResponse r;
  r.status = status;
  r.Set("Content-Type", "text/plain; charset=utf-8");
  r.Set("X-Content-Type-Options", "nosniff");
  r.body = std::to_string(status) + " " + std::string(ReasonPhrase(status)) + "\n";
  if (!why.empty()) r.body += std::string(why) + "\n";
  return r;
}

std::string SerializeHead(const HttpResponse& r, bool keep_alive, bool chunked) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " ";
  out += ReasonPhrase(r.status);
  out += "\r\n";
  for (const auto& [name, value] : r.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  // 304 answers carry no Content-Length of their own (it would describe the file).
  if (chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  } else if (r.status != 304 && !(r.stream && r.unknown_length)) {
    out += "Content-Length: " + std::to_string(r.Length()) + "\r\n";
  }
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "\r\n";
  return out;
}

}  // namespace hyper::gateway
