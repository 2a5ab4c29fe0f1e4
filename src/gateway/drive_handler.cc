// GET and HEAD of drive paths: files (ranges, conditional requests, caching), directories
// (redirect to the trailing slash, index.html, listings in HTML or JSON) and the errors.
#include "hyper/gateway/drive_handler.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "hyper/drive/file_reader.h"
#include "hyper/gateway/content_type.h"
#include "hyper/gateway/range.h"
#include "hyper/gateway/request_path.h"

namespace hyper::gateway {

namespace {

// A file's bytes [pos, end), read a window at a time (the whole range at once when local).
class FileBody : public BodySource {
 public:
  FileBody(DriveSource& source, const crypto::PublicKey& key, std::shared_ptr<drive::Drive> head,
           std::shared_ptr<drive::Drive> drive, std::string path, uint64_t start, uint64_t end,
           uint64_t window)
      : source_(source),
        key_(key),
        head_(std::move(head)),
        drive_(std::move(drive)),
        path_(std::move(path)),
        pos_(start),
        end_(end),
        window_(window) {}

  Result<ByteView> Next() override {
    if (pos_ >= end_) return ByteView();
    if (!reader_ || reader_->remaining() == 0) {
      const uint64_t stop = window_ == 0 ? end_ : std::min(end_, pos_ + window_);
      RETURN_IF_ERROR(source_.FetchRange(key_, *drive_, path_, pos_, stop));
      ASSIGN_OR_RETURN(reader_, drive::FileReader::Open(*drive_, path_, pos_, stop - pos_));
    }
    ASSIGN_OR_RETURN(ByteView chunk, reader_->Next());
    if (chunk.empty()) return Status::Corruption("the file ended early: " + path_);
    pos_ += chunk.size();
    return chunk;
  }

 private:
  DriveSource& source_;
  crypto::PublicKey key_;
  std::shared_ptr<drive::Drive> head_;  // keeps the checkout's drive open
  std::shared_ptr<drive::Drive> drive_;
  std::string path_;
  uint64_t pos_, end_, window_;
  std::unique_ptr<drive::FileReader> reader_;
};

// FNV-1a, 64 bits: a stable digest for ETags (not a security boundary).
uint64_t Fnv1a(std::string_view s, uint64_t h = 14695981039346656037ULL) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string EtagOf(const crypto::PublicKey& key, uint64_t version, const std::string& path) {
  const std::string k(reinterpret_cast<const char*>(key.data()), key.size());
  char digest[17];
  std::snprintf(digest, sizeof(digest), "%016llx",
                static_cast<unsigned long long>(Fnv1a(path, Fnv1a(k))));
  return "\"" + std::to_string(version) + "-" + digest + "\"";
}

// Whether an If-None-Match list holds `etag` (weak comparison) or "*".
bool NoneMatch(const std::string& header, const std::string& etag) {
  std::string_view rest = header;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

HttpResponse ErrorResponse(const Status& s) { return TextResponse(StatusFor(s), s.message()); }

void CommonHeaders(HttpResponse& r, const std::string& etag, bool pinned) {
  r.Set("ETag", etag);
  r.Set("Cache-Control", pinned ? "public, max-age=31536000, immutable" : "no-cache");
  r.Set("X-Content-Type-Options", "nosniff");
}

std::string TypeName(const drive::Stat& st) {
  if (st.IsDirectory() || st.mount) return "directory";
  if (st.IsSymlink()) return "symlink";
  return "file";
}

// A directory's listing (HTML, or JSON for Accept: application/json), rendered a batch of
// entries at a time as the client takes it: a directory of 100,000 entries holds its entries
// while it is sent, never the whole page, and its first bytes leave at once.
class ListingBody : public BodySource {
 public:
  ListingBody(std::vector<drive::DirEntry> entries, bool json, const RequestPath& rp)
      : entries_(std::move(entries)), json_(json) {
    sorted_.reserve(entries_.size());
    for (const auto& e : entries_) sorted_.push_back(&e);
    std::sort(sorted_.begin(), sorted_.end(),
              [](const auto* a, const auto* b) { return a->name < b->name; });
    if (json_) {
      out_ = "[";
      tail_ = "]\n";
      return;
    }
    base_ = PercentEncodePath(rp.prefix + (rp.path == "/" ? "" : rp.path)) + "/";
    out_ = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + HtmlEscape(rp.path) +
           "</title></head><body>\n<h1>" + HtmlEscape(rp.path) + "</h1>\n<ul>\n";
    if (rp.path != "/") out_ += "<li><a href=\"../\">../</a></li>\n";
    tail_ = "</ul>\n</body></html>\n";
  }

  Result<ByteView> Next() override {
    if (done_) return ByteView();
    if (started_) out_.clear();
    started_ = true;
    while (next_ < sorted_.size() && out_.size() < kBatchBytes) {
      const drive::DirEntry& e = *sorted_[next_];
      if (json_) {
        AppendJson(e, next_ > 0);
      } else {
        AppendHtml(e);
      }
      next_++;
    }
    if (next_ == sorted_.size()) {
      out_ += tail_;
      done_ = true;
    }
    return ByteView(reinterpret_cast<const uint8_t*>(out_.data()), out_.size());
  }

 private:
  static constexpr size_t kBatchBytes = 256 << 10;

  // {"mtime","name","size","type"}, as a JSON object's keys sort.
  void AppendJson(const drive::DirEntry& e, bool comma) {
    if (comma) out_ += ',';
    out_ += "{\"mtime\":";
    out_ += std::to_string(e.stat.mtime);
    out_ += ",\"name\":";
    out_ += nlohmann::json(e.name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out_ += ",\"size\":";
    out_ += std::to_string(e.stat.size);
    out_ += ",\"type\":\"";
    out_ += TypeName(e.stat);
    out_ += "\"}";
  }

  void AppendHtml(const drive::DirEntry& e) {
    const bool dir = TypeName(e.stat) == "directory";
    const std::string name = e.name + (dir ? "/" : "");
    out_ += "<li><a href=\"";
    out_ += HtmlEscape(base_ + PercentEncodePath(name));
    out_ += "\">";
    out_ += HtmlEscape(name);
    out_ += "</a>";
    if (!dir) {
      out_ += ' ';
      out_ += std::to_string(e.stat.size);
      out_ += " bytes";
    }
    out_ += "</li>\n";
  }

  const std::vector<drive::DirEntry> entries_;
  std::vector<const drive::DirEntry*> sorted_;
  const bool json_;
  std::string base_;  // HTML: the listed directory's URL path, with its trailing slash
  std::string tail_;
  std::string out_;  // the batch handed out last
  size_t next_ = 0;
  bool started_ = false;
  bool done_ = false;
};

HttpResponse Listing(const HttpRequest& req, const RequestPath& rp,
                     std::vector<drive::DirEntry> entries) {
  HttpResponse r;
  const std::string* accept = req.Header("accept");
  const bool json = accept != nullptr && accept->find("application/json") != std::string::npos;
  r.Set("Content-Type", json ? "application/json" : "text/html; charset=utf-8");
  r.stream = std::make_unique<ListingBody>(std::move(entries), json, rp);
  r.unknown_length = true;
  return r;
}

}  // namespace

int StatusFor(const Status& s) {
  switch (s.code()) {
    case Code::kNotFound:
    case Code::kNotADirectory:
    case Code::kOutOfRange:
      return 404;
    case Code::kInvalidArgument:
      return 400;
    case Code::kTimeout:
      return 504;
    case Code::kIOError:
    case Code::kCancelled:
      return 502;
    default:
      return 500;
  }
}

Result<std::shared_ptr<drive::Drive>> LocalDriveSource::Open(const crypto::PublicKey& key) {
  drive::DriveOptions options;
  options.key = key;
  options.create_if_missing = false;
  auto opened = drive::Drive::Open(store_, options);
  if (!opened.ok()) {
    if (opened.status().code() == Code::kNotFound) {
      return Status::NotFound("no drive " + ToHex(key) + " here");
    }
    return opened.status();
  }
  return std::shared_ptr<drive::Drive>(std::move(opened).value());
}

HttpResponse DriveHandler::Handle(const HttpRequest& req) {
  auto parsed = ParseRequestPath(req.target);
  if (!parsed.ok()) return TextResponse(400, parsed.status().message());
  const RequestPath& rp = *parsed;
  if (!rp.has_key) {
    if (options_.default_key) {
      HttpResponse r = TextResponse(301, "");
      r.Set("Location", "/" + ToHex(*options_.default_key) + "/");
      return r;
    }
    HttpResponse r;
    r.Set("Content-Type", "text/html; charset=utf-8");
    r.Set("X-Content-Type-Options", "nosniff");
    r.body =
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>hyperdrive gateway</title>"
        "</head><body><p>hyperdrive gateway: GET /&lt;key&gt;[+version]/path</p></body></html>\n";
    return r;
  }
  if (!options_.any_key && (!options_.default_key || *options_.default_key != rp.key)) {
    return TextResponse(404, "this gateway serves one drive only");
  }
  auto head = source_.Open(rp.key);
  if (!head.ok()) return ErrorResponse(head.status());
  std::shared_ptr<drive::Drive> d = *head;
  bool pinned = false;
  if (rp.version) {
    const std::string& v = *rp.version;
    const bool numeric = v.size() <= 19 && std::all_of(v.begin(), v.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
    uint64_t version = 0;
    if (numeric) {
      version = std::stoull(v);
      pinned = true;
    } else {
      auto tagged = (*head)->GetTaggedVersion(v);
      if (!tagged.ok()) {
        if (tagged.status().code() == Code::kNotFound) {
          return TextResponse(404, "no version or tag '" + v + "'");
        }
        return ErrorResponse(tagged.status());
      }
      version = *tagged;
    }
    if (version == 0 || version > (*head)->version()) {
      return TextResponse(404, "version " + std::to_string(version) +
                                   " does not exist (the drive is at " +
                                   std::to_string((*head)->version()) + ")");
    }
    auto checkout = (*head)->Checkout(version);
    if (!checkout.ok()) return ErrorResponse(checkout.status());
    d = std::shared_ptr<drive::Drive>(std::move(checkout).value());
  }
  std::string path = rp.path;
  auto st = d->GetStat(path);
  if (!st.ok() && st.status().code() == Code::kNotFound && path == "/") {
    // The root of a drive without entries: an empty directory.
    drive::Stat root;
    root.mode = drive::kModeDirectory | drive::kDefaultDirectoryMode;
    st = root;
  }
  if (!st.ok()) return ErrorResponse(st.status());
  const bool directory = st->IsDirectory() || st->mount;
  if (directory) {
    if (!rp.trailing_slash && path != "/") {
      HttpResponse r = TextResponse(301, "");
      r.Set("Location", PercentEncodePath(rp.prefix + path) + "/");
      return r;
    }
    if (rp.path == "/" && !rp.trailing_slash && req.target.find('?') == std::string::npos) {
      // "/<key>" itself: links in the listing are relative to "/<key>/".
      HttpResponse r = TextResponse(301, "");
      r.Set("Location", PercentEncodePath(rp.prefix) + "/");
      return r;
    }
    const std::string index = (path == "/" ? "" : path) + "/index.html";
    auto ist = d->GetStat(index);
    if (ist.ok() && ist->IsFile()) {
      path = index;
      st = ist;
    } else {
      const std::string etag = EtagOf(rp.key, d->version(), path + "/");
      if (const std::string* inm = req.Header("if-none-match"); inm && NoneMatch(*inm, etag)) {
        HttpResponse nm;
        nm.status = 304;
        CommonHeaders(nm, etag, pinned);
        return nm;
      }
      Status fetched = source_.FetchListing(rp.key, *d, path);
      if (!fetched.ok()) return ErrorResponse(fetched);
      auto entries = d->Readdir(path);
      if (!entries.ok()) return ErrorResponse(entries.status());
      HttpResponse r = Listing(req, rp, std::move(*entries));
      CommonHeaders(r, etag, pinned);
      r.Set("Vary", "Accept");
      return r;
    }
  }
  if (!st->IsFile()) return TextResponse(404, "not a file: " + path);
  const std::string etag = EtagOf(rp.key, d->version(), path);
  HttpResponse r;
  CommonHeaders(r, etag, pinned);
  r.Set("Accept-Ranges", "bytes");
  r.Set("Content-Type", std::string(ContentTypeFor(path)));
  if (const std::string* inm = req.Header("if-none-match"); inm && NoneMatch(*inm, etag)) {
    r.status = 304;
    return r;
  }
  const uint64_t size = st->size;
  uint64_t start = 0;
  uint64_t end = size;
  const std::string* range = req.Header("range");
  const std::string* if_range = req.Header("if-range");
  if (range != nullptr && (if_range == nullptr || *if_range == etag)) {
    RangeRequest rr = ParseRange(*range, size);
    if (rr.kind == RangeRequest::Kind::kUnsatisfiable) {
      HttpResponse bad = TextResponse(416, "the range starts past the end of the file");
      bad.Set("Content-Range", "bytes */" + std::to_string(size));
      bad.Set("Accept-Ranges", "bytes");
      bad.Set("ETag", etag);
      return bad;
    }
    if (rr.kind == RangeRequest::Kind::kSatisfiable) {
      start = rr.start;
      end = rr.end;
      r.status = 206;
      r.Set("Content-Range", "bytes " + std::to_string(start) + "-" + std::to_string(end - 1) +
                                 "/" + std::to_string(size));
    }
  }
  r.content_length = end - start;
  if (source_.Remote(rp.key)) r.send_buffer = options_.remote_send_buffer;
  r.stream = std::make_unique<FileBody>(source_, rp.key, *head, d, path, start, end,
                                        source_.Remote(rp.key) ? options_.remote_window : 0);
  return r;
}

}  // namespace hyper::gateway
