#include "drive_service.h"

#include <algorithm>
#include <condition_variable>
#include <set>
#include <thread>

#include "auth.h"
#include "convert.h"

namespace hyper::daemon {

namespace {

// Bytes per message of a read stream (the client concatenates them).
constexpr uint64_t kReadChunk = 1 << 20;
// A path longer than this is refused (Linux's PATH_MAX).
constexpr size_t kMaxPath = 4096;

// Paths come from clients: no NUL, not overlong, and no `..` that climbs above the root (the
// drive would clamp it silently; a client that sends one is confused or hostile).
Status CheckPath(const std::string& path) {
  if (path.size() > kMaxPath) {
    return Status::InvalidArgument("path longer than " + std::to_string(kMaxPath) + " bytes");
  }
  if (path.find('\0') != std::string::npos) {
    return Status::InvalidArgument("path holds a NUL byte");
  }
  int64_t depth = 0;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    const std::string_view part(path.data() + i, j - i);
    if (part == "..") {
      if (--depth < 0) return Status::InvalidArgument("path " + path + " climbs above the root");
    } else if (!part.empty() && part != ".") {
      depth++;
    }
    i = j + 1;
  }
  return Status::Ok();
}

std::string PathOr(const std::string& path, const char* fallback) {
  return path.empty() ? std::string(fallback) : path;
}

void ToWire(const service::CoreCounters& c, rpc::CoreStats* out) {
  out->set_key(BytesOf(c.key));
  out->set_peers(c.peers);
  out->set_uploadedbytes(c.uploaded_bytes);
  out->set_downloadedbytes(c.downloaded_bytes);
  // Counted since this daemon started (no counters are kept across restarts yet).
  out->set_uploadedbytescumulative(c.uploaded_bytes);
  out->set_downloadedbytescumulative(c.downloaded_bytes);
  out->set_totalblocks(c.total_blocks);
  out->set_downloadedblocks(c.downloaded_blocks);
  out->set_totalbytes(c.total_bytes);
}

void ToWire(const std::vector<service::MountCounters>& counters, rpc::DriveStats* out) {
  for (const auto& m : counters) {
    rpc::MountStats* ms = out->add_stats();
    ms->set_path(m.path);
    ToWire(m.metadata, ms->mutable_metadata());
    if (m.content) ToWire(*m.content, ms->mutable_content());
  }
}

void ToWire(const crypto::PublicKey& key, const service::NetworkConfig& c,
            rpc::NetworkConfiguration* out) {
  out->set_key(BytesOf(key));
  out->set_lookup(c.lookup);
  out->set_announce(c.announce);
  out->set_remember(c.remember);
}

// Blocks and bytes of a file held here.
rpc::FileStats FileStatsOf(const drive::Drive& d, const drive::Stat& st) {
  rpc::FileStats fs;
  fs.set_blocks(st.blocks);
  fs.set_size(st.size);
  const auto& content = d.content_feed();
  if (!content || st.blocks == 0) return fs;
  const BlockIndex first(st.offset);
  const BlockIndex end(st.offset + st.blocks);
  const uint64_t held = content->Downloaded(first, end);
  fs.set_downloadedblocks(held);
  if (held == st.blocks) {
    fs.set_downloadedbytes(st.size);
    return fs;
  }
  // Part of it: add up the sizes of the blocks held.
  uint64_t bytes = 0;
  for (uint64_t i = st.offset; i < st.offset + st.blocks; i++) {
    if (!content->Has(BlockIndex(i))) continue;
    auto a = content->ByteOffsetOf(BlockIndex(i));
    auto b = content->ByteOffsetOf(BlockIndex(i + 1));
    if (a.ok() && b.ok() && *b >= *a) bytes += *b - *a;
  }
  fs.set_downloadedbytes(bytes);
  return fs;
}

}  // namespace

#define HYPER_AUTHORIZE(ctx) \
  if (grpc::Status denied = Authorize(*(ctx), token_); !denied.ok()) return denied

DriveService::DriveService(service::Host& host, SessionTable& sessions, DownloadTable& downloads,
                           std::string token, DriveStateHooks hooks)
    : host_(host),
      sessions_(sessions),
      downloads_(downloads),
      token_(std::move(token)),
      hooks_(std::move(hooks)) {}

// --- sessions and drives ---

grpc::Status DriveService::get(grpc::ServerContext* ctx, const rpc::GetDriveRequest* req,
                               rpc::GetDriveResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  const rpc::HyperdriveOptions& opts = req->opts();
  std::optional<crypto::PublicKey> key;
  if (!opts.key().empty()) {
    auto k = KeyOf(opts.key(), "the drive key");
    if (!k.ok()) return ToGrpc(k.status());
    key = *k;
  }
  auto hosted = host_.Get(key);
  if (!hosted.ok()) return ToGrpc(hosted.status());
  auto session = std::make_shared<DriveSession>();
  session->hosted = *hosted;
  // Version 0 is "the latest" (the client sends 0 for none).
  if (opts.version() != 0) session->version = opts.version();
  if (opts.seed()) {
    // As the reference: a drive asked for with `seed` is looked up (announce stays as set).
    service::NetworkConfig c =
        host_.NetworkConfigOf(session->hosted->key()).value_or(service::NetworkConfig{});
    c.lookup = true;
    if (Status s = host_.ConfigureNetwork(session->hosted->key(), c); !s.ok()) return ToGrpc(s);
  }
  // Opens the drive (fetching its header when it is not here) and reads its version.
  uint64_t version = 0;
  bool writable = false;
  Status opened = session->Run([&](drive::Drive& d) -> Status {
    version = d.version();
    writable = d.writable() && !session->version;
    return Status::Ok();
  });
  if (!opened.ok()) return ToGrpc(opened);
  if (hooks_.opened) {
    if (Status recorded = hooks_.opened(session->hosted->key()); !recorded.ok()) {
      return ToGrpc(recorded);
    }
  }
  auto id = sessions_.Add(session);
  if (!id.ok()) return ToGrpc(id.status());
  rsp->set_id(*id);
  rpc::HyperdriveOptions* out = rsp->mutable_opts();
  out->set_key(BytesOf(session->hosted->key()));
  const crypto::Hash dk = session->hosted->discovery_key();
  out->set_discoverykey(std::string(dk.begin(), dk.end()));
  out->set_version(version);
  out->set_writable(writable);
  out->set_seed(opts.seed());
  return grpc::Status::OK;
}

grpc::Status DriveService::close(grpc::ServerContext* ctx, const rpc::CloseSessionRequest* req,
                                 rpc::CloseSessionResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  // Files left open are closed (what was written through them is kept; a file created by
  // open gets its Stat).
  Status closed = (*s)->RunWrite([&](drive::Drive&) -> Status {
    Status first;
    for (auto& [fd, file] : (*s)->files) {
      Status c = file->Close();
      if (first.ok() && !c.ok()) first = c;
    }
    (*s)->files.clear();
    return first;
  });
  sessions_.Remove(req->id());
  return ToGrpc(closed);
}

grpc::Status DriveService::version(grpc::ServerContext* ctx, const rpc::DriveVersionRequest* req,
                                   rpc::DriveVersionResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  return ToGrpc((*s)->Run([&](drive::Drive& d) -> Status {
    rsp->set_version(d.version());
    return Status::Ok();
  }));
}

// --- the network ---

grpc::Status DriveService::configureNetwork(grpc::ServerContext* ctx,
                                            const rpc::ConfigureNetworkRequest* req,
                                            rpc::ConfigureNetworkResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  const service::NetworkConfig c{.lookup = req->network().lookup(),
                                 .announce = req->network().announce(),
                                 .remember = req->network().remember()};
  const crypto::PublicKey key = (*s)->hosted->key();
  if (Status st = host_.ConfigureNetwork(key, c); !st.ok()) return ToGrpc(st);
  if (hooks_.configured) return ToGrpc(hooks_.configured(key, c));
  return grpc::Status::OK;
}

grpc::Status DriveService::stats(grpc::ServerContext* ctx, const rpc::DriveStatsRequest* req,
                                 rpc::DriveStatsResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  auto counters = host_.Stats(*(*s)->hosted, req->recursive());
  if (!counters.ok()) return ToGrpc(counters.status());
  ToWire(*counters, rsp->mutable_stats());
  if (auto c = host_.NetworkConfigOf((*s)->hosted->key())) {
    ToWire((*s)->hosted->key(), *c, rsp->mutable_network());
  }
  return grpc::Status::OK;
}

grpc::Status DriveService::allStats(grpc::ServerContext* ctx, const rpc::StatsRequest* /*req*/,
                                    rpc::StatsResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  for (const auto& hosted : host_.OpenDrives()) {
    auto counters = host_.Stats(*hosted, /*recursive=*/false);
    if (!counters.ok()) continue;  // a drive whose header never came has nothing to count
    ToWire(*counters, rsp->add_stats());
  }
  return grpc::Status::OK;
}

grpc::Status DriveService::allNetworkConfigurations(grpc::ServerContext* ctx,
                                                    const rpc::NetworkConfigurationsRequest*,
                                                    rpc::NetworkConfigurationsResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  for (const auto& [key, c] : host_.NetworkConfigs()) ToWire(key, c, rsp->add_configurations());
  return grpc::Status::OK;
}

grpc::Status DriveService::active(grpc::ServerContext* ctx, const rpc::ActiveRequest* /*req*/,
                                  rpc::ActiveResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  for (const auto& key : host_.Active()) {
    rpc::HyperdriveOptions* o = rsp->add_drives();
    o->set_key(BytesOf(key));
    const crypto::Hash dk = crypto::DiscoveryKey(key);
    o->set_discoverykey(std::string(dk.begin(), dk.end()));
  }
  return grpc::Status::OK;
}

grpc::Status DriveService::peerCounts(grpc::ServerContext* ctx, const rpc::PeerCountsRequest* req,
                                      rpc::PeerCountsResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  for (const std::string& raw : req->keys()) {
    auto key = KeyOf(raw, "a key");
    rsp->add_peercounts(key.ok() ? host_.PeerCount(*key) : 0);
  }
  return grpc::Status::OK;
}

grpc::Status DriveService::mirror(grpc::ServerContext* ctx, const rpc::MirrorRequest* req,
                                  rpc::MirrorResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status st = host_.SetMirrored((*s)->hosted, true); !st.ok()) return ToGrpc(st);
  if (hooks_.mirrored) return ToGrpc(hooks_.mirrored((*s)->hosted->key(), true));
  return grpc::Status::OK;
}

grpc::Status DriveService::unmirror(grpc::ServerContext* ctx, const rpc::UnmirrorRequest* req,
                                    rpc::UnmirrorResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status st = host_.SetMirrored((*s)->hosted, false); !st.ok()) return ToGrpc(st);
  if (hooks_.mirrored) return ToGrpc(hooks_.mirrored((*s)->hosted->key(), false));
  return grpc::Status::OK;
}

grpc::Status DriveService::download(grpc::ServerContext* ctx, const rpc::DownloadRequest* req,
                                    rpc::DownloadResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status p = CheckPath(req->path()); !p.ok()) return ToGrpc(p);
  // No path: the whole drive (the client sends none for that).
  auto id = downloads_.Start(**s, PathOr(req->path(), "/"));
  if (!id.ok()) return ToGrpc(id.status());
  rsp->set_downloadid(*id);
  return grpc::Status::OK;
}

grpc::Status DriveService::undownload(grpc::ServerContext* ctx, const rpc::UndownloadRequest* req,
                                      rpc::UndownloadResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (req->downloadid() == 0) {
    return ToGrpc(Status::InvalidArgument("an undownload request must name a download id"));
  }
  downloads_.Cancel(req->downloadid());
  return grpc::Status::OK;
}

// --- files ---

grpc::Status DriveService::stat(grpc::ServerContext* ctx, const rpc::StatRequest* req,
                                rpc::StatResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status p = CheckPath(req->path()); !p.ok()) return ToGrpc(p);
  return ToGrpc((*s)->Run([&](drive::Drive& d) -> Status {
    ASSIGN_OR_RETURN(drive::Stat st, req->lstat() ? d.Lstat(req->path()) : d.GetStat(req->path()));
    ToWire(st, rsp->mutable_stat());
    return Status::Ok();
  }));
}

namespace {

// The size of the file at `path` (not a directory), in the session's version.
Result<uint64_t> FileSize(DriveSession& s, const std::string& path) {
  RETURN_IF_ERROR(CheckPath(path));
  uint64_t size = 0;
  RETURN_IF_ERROR(s.Run([&](drive::Drive& d) -> Status {
    ASSIGN_OR_RETURN(drive::Stat stat, d.GetStat(path));
    if (stat.IsDirectory()) return Status::IsADirectory(path + " is a directory");
    size = stat.size;
    return Status::Ok();
  }));
  return size;
}

// Sends bytes [start, stop) of the file as messages of kReadChunk, each read under the drive's
// lock on its own (other calls on the drive go on between them): readFile and
// createReadStream, whose messages differ only in type.
template <typename Response>
grpc::Status SendRange(grpc::ServerContext* ctx, DriveSession& s, const std::string& path,
                       uint64_t start, uint64_t stop, grpc::ServerWriter<Response>* writer) {
  for (uint64_t pos = start; pos < stop;) {
    if (ctx->IsCancelled()) return {grpc::StatusCode::CANCELLED, "the client went away"};
    const uint64_t n = std::min(kReadChunk, stop - pos);
    Bytes chunk;
    Status r = s.Run([&](drive::Drive& d) -> Status {
      ASSIGN_OR_RETURN(chunk, d.ReadRange(path, pos, n));
      return Status::Ok();
    });
    if (!r.ok()) return ToGrpc(r);
    if (chunk.empty()) break;  // the file shrank meanwhile
    Response m;
    m.set_chunk(std::string(chunk.begin(), chunk.end()));
    if (!writer->Write(m)) return {grpc::StatusCode::CANCELLED, "the client went away"};
    pos += chunk.size();
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::Status DriveService::readFile(grpc::ServerContext* ctx, const rpc::ReadFileRequest* req,
                                    grpc::ServerWriter<rpc::ReadFileResponse>* writer) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  auto size = FileSize(**s, req->path());
  if (!size.ok()) return ToGrpc(size.status());
  return SendRange(ctx, **s, req->path(), 0, *size, writer);
}

grpc::Status DriveService::createReadStream(grpc::ServerContext* ctx,
                                            const rpc::ReadStreamRequest* req,
                                            grpc::ServerWriter<rpc::ReadStreamResponse>* writer) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  auto size = FileSize(**s, req->path());
  if (!size.ok()) return ToGrpc(size.status());
  // hyperdrive's range: from `start`; to `end` inclusive, else `length` bytes, else the end.
  const uint64_t start = std::min(req->start(), *size);
  uint64_t stop = *size;
  if (req->end() != 0) {
    stop = std::min(*size, req->end() + 1);
  } else if (req->length() != 0) {
    stop = start + std::min(req->length(), *size - start);
  }
  return SendRange(ctx, **s, req->path(), start, stop, writer);
}

namespace {

// The body of writeFile and createWriteStream: the first message names the session, the path
// and the options (and may carry content); the following ones carry content. The file is
// streamed into the drive as it comes (the drive's writes wait meanwhile; reads go on), and
// its Stat is written when the client ends the stream. A client that goes away leaves no file.
template <typename Request>
Status WriteStream(grpc::ServerContext* ctx, grpc::ServerReader<Request>* reader,
                   const SessionTable& sessions) {
  Request first;
  if (!reader->Read(&first)) return Status::InvalidArgument("the write stream sent nothing");
  ASSIGN_OR_RETURN(auto s, sessions.Find(first.id()));
  if (first.path().empty()) return Status::InvalidArgument("a write needs a path");
  RETURN_IF_ERROR(CheckPath(first.path()));
  const drive::WriteOptions options = WriteOptionsOf(first.opts());
  auto writes = s->hosted->LockWrites();
  std::unique_ptr<drive::FileWriter> w;
  RETURN_IF_ERROR(s->Run([&](drive::Drive& d) -> Status {
    ASSIGN_OR_RETURN(w, d.CreateWriter(first.path(), options));
    return Status::Ok();
  }));
  auto put = [&](const std::string& chunk) {
    if (chunk.empty()) return Status::Ok();
    return s->Run([&](drive::Drive&) -> Status {
      return w->Write(ByteView(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()));
    });
  };
  RETURN_IF_ERROR(put(first.chunk()));
  Request next;
  while (reader->Read(&next)) RETURN_IF_ERROR(put(next.chunk()));
  if (ctx->IsCancelled()) return Status::Cancelled("the client went away before the end");
  return s->Run([&](drive::Drive&) -> Status { return w->Close().status(); });
}

}  // namespace

grpc::Status DriveService::writeFile(grpc::ServerContext* ctx,
                                     grpc::ServerReader<rpc::WriteFileRequest>* reader,
                                     rpc::WriteFileResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  return ToGrpc(WriteStream(ctx, reader, sessions_));
}

grpc::Status DriveService::createWriteStream(grpc::ServerContext* ctx,
                                             grpc::ServerReader<rpc::WriteStreamRequest>* reader,
                                             rpc::WriteStreamResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  return ToGrpc(WriteStream(ctx, reader, sessions_));
}

grpc::Status DriveService::updateMetadata(grpc::ServerContext* ctx,
                                          const rpc::UpdateMetadataRequest* req,
                                          rpc::UpdateMetadataResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status p = CheckPath(req->path()); !p.ok()) return ToGrpc(p);
  std::vector<std::pair<std::string, std::string>> entries(req->metadata().begin(),
                                                           req->metadata().end());
  std::sort(entries.begin(), entries.end());
  return ToGrpc((*s)->RunWrite([&](drive::Drive& d) -> Status {
    for (const auto& [key, value] : entries) {
      RETURN_IF_ERROR(d.SetMetadata(req->path(), key, Bytes(value.begin(), value.end())));
    }
    return Status::Ok();
  }));
}

grpc::Status DriveService::deleteMetadata(grpc::ServerContext* ctx,
                                          const rpc::DeleteMetadataRequest* req,
                                          rpc::DeleteMetadataResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status p = CheckPath(req->path()); !p.ok()) return ToGrpc(p);
  return ToGrpc((*s)->RunWrite([&](drive::Drive& d) -> Status {
    for (const std::string& key : req->keys()) RETURN_IF_ERROR(d.RemoveMetadata(req->path(), key));
    return Status::Ok();
  }));
}

grpc::Status DriveService::unlink(grpc::ServerContext* ctx, const rpc::UnlinkRequest* req,
                                  rpc::UnlinkResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status p = CheckPath(req->path()); !p.ok()) return ToGrpc(p);
  return ToGrpc((*s)->RunWrite([&](drive::Drive& d) { return d.Unlink(req->path()); }));
}

grpc::Status DriveService::symlink(grpc::ServerContext* ctx, const rpc::SymlinkRequest* req,
                                   rpc::SymlinkResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (req->target().empty() || req->linkname().empty()) {
    return ToGrpc(Status::InvalidArgument("a symlink needs a target and a link name"));
  }
  if (req->target().size() > kMaxPath || req->target().find('\0') != std::string::npos) {
    return ToGrpc(Status::InvalidArgument("the symlink's target is overlong or holds a NUL"));
  }
  if (Status p = CheckPath(req->linkname()); !p.ok()) return ToGrpc(p);
  return ToGrpc(
      (*s)->RunWrite([&](drive::Drive& d) { return d.Symlink(req->target(), req->linkname()); }));
}

// --- directories ---

grpc::Status DriveService::mkdir(grpc::ServerContext* ctx, const rpc::MkdirRequest* req,
                                 rpc::MkdirResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status p = CheckPath(req->path()); !p.ok()) return ToGrpc(p);
  const drive::WriteOptions options = WriteOptionsOf(req->opts());
  return ToGrpc((*s)->RunWrite([&](drive::Drive& d) { return d.Mkdir(req->path(), options); }));
}

grpc::Status DriveService::rmdir(grpc::ServerContext* ctx, const rpc::RmdirRequest* req,
                                 rpc::RmdirResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status p = CheckPath(req->path()); !p.ok()) return ToGrpc(p);
  return ToGrpc((*s)->RunWrite([&](drive::Drive& d) { return d.Rmdir(req->path()); }));
}

grpc::Status DriveService::readdir(grpc::ServerContext* ctx, const rpc::ReadDirectoryRequest* req,
                                   rpc::ReadDirectoryResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  const std::string path = PathOr(req->path(), "/");
  if (Status p = CheckPath(path); !p.ok()) return ToGrpc(p);
  return ToGrpc((*s)->Run([&](drive::Drive& d) -> Status {
    drive::ReaddirOptions o;
    o.recursive = req->recursive();
    o.no_mounts = req->nomounts();
    o.stats = req->includestats();
    ASSIGN_OR_RETURN(auto entries, d.Readdir(path, o));
    for (const auto& e : entries) {
      rsp->add_files(e.name);
      if (!req->includestats()) continue;
      ToWire(e.stat, rsp->add_stats());
      // The drive the entry is stored in and its path there: a mount's own record for a mount
      // point, else this drive.
      rpc::Mount* m = rsp->add_mounts();
      if (e.stat.mount) {
        ToWire(*e.stat.mount, m);
      } else {
        m->set_key(BytesOf(d.key()));
      }
      rsp->add_innerpaths(e.name);
    }
    return Status::Ok();
  }));
}

// --- versions ---

grpc::Status DriveService::createDiffStream(grpc::ServerContext* ctx,
                                            const rpc::DiffStreamRequest* req,
                                            grpc::ServerWriter<rpc::DiffStreamResponse>* writer) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  const std::string prefix = PathOr(req->prefix(), "/");
  if (Status p = CheckPath(prefix); !p.ok()) return ToGrpc(p);
  std::vector<drive::DiffEntry> diff;
  Status st = (*s)->Run([&](drive::Drive& d) -> Status {
    ASSIGN_OR_RETURN(diff, d.Diff(req->other(), prefix));
    return Status::Ok();
  });
  if (!st.ok()) return ToGrpc(st);
  for (const auto& e : diff) {
    rpc::DiffStreamResponse m;
    m.set_type(e.type_name());
    m.set_name(e.name);
    if (e.value) {
      ToWire(*e.value, m.mutable_value()->mutable_stat());
      if (e.value->mount) ToWire(*e.value->mount, m.mutable_value()->mutable_mount());
    }
    if (!writer->Write(m)) return {grpc::StatusCode::CANCELLED, "the client went away"};
  }
  return grpc::Status::OK;
}

grpc::Status DriveService::watch(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<rpc::WatchResponse, rpc::WatchRequest>* stream) {
  HYPER_AUTHORIZE(ctx);
  rpc::WatchRequest first;
  if (!stream->Read(&first)) return grpc::Status::OK;
  auto s = SessionOf(first.id());
  if (!s.ok()) return ToGrpc(s.status());
  const std::string path = PathOr(first.path(), "/");
  if (Status p = CheckPath(path); !p.ok()) return ToGrpc(p);
  // A change is told by one empty message; changes that come while a message is being sent are
  // told once more after it (never lost, never queued without bound).
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    bool armed = false;  // calls made while the watch is set up only record where it starts
    bool changed = false;
    bool done = false;
  };
  auto pending = std::make_shared<Pending>();
  std::unique_ptr<drive::DriveWatcher> watcher;
  Status st = (*s)->Run([&](drive::Drive& d) -> Status {
    ASSIGN_OR_RETURN(watcher, d.Watch(path, [pending] {
      std::lock_guard<std::mutex> lock(pending->mu);
      if (!pending->armed) return;
      pending->changed = true;
      pending->cv.notify_all();
    }));
    std::lock_guard<std::mutex> lock(pending->mu);
    pending->armed = true;
    return Status::Ok();
  });
  if (!st.ok()) return ToGrpc(st);
  // Any later message from the client (or its end) stops the watch.
  std::thread reader([stream, pending] {
    rpc::WatchRequest more;
    (void)stream->Read(&more);
    std::lock_guard<std::mutex> lock(pending->mu);
    pending->done = true;
    pending->cv.notify_all();
  });
  bool ok = true;
  while (ok) {
    std::unique_lock<std::mutex> lock(pending->mu);
    pending->cv.wait(lock, [&] { return pending->changed || pending->done; });
    if (pending->done) break;
    pending->changed = false;
    lock.unlock();
    ok = stream->Write(rpc::WatchResponse());
  }
  if (!ok) ctx->TryCancel();  // the client is gone: end its Read too
  reader.join();
  // Stopped under the drive's lock (the watcher must not outlive the drive it watches).
  (void)(*s)->Run([&](drive::Drive&) -> Status {
    watcher.reset();
    return Status::Ok();
  });
  return grpc::Status::OK;
}

// --- mounts ---

grpc::Status DriveService::mount(grpc::ServerContext* ctx, const rpc::MountDriveRequest* req,
                                 rpc::MountDriveResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  const std::string& path = req->info().path();
  if (path.empty()) return ToGrpc(Status::InvalidArgument("a mount needs a path"));
  if (Status p = CheckPath(path); !p.ok()) return ToGrpc(p);
  auto key = KeyOf(req->info().opts().key(), "the mounted drive's key");
  if (!key.ok()) return ToGrpc(key.status());
  drive::MountOptions o;
  if (req->info().opts().version() != 0) o.version = req->info().opts().version();
  Status st = (*s)->RunWrite([&](drive::Drive& d) { return d.Mount(path, *key, o); });
  if (!st.ok()) return ToGrpc(st);
  // The mounted drive is replicated from now on (DriveReplication follows mounts).
  auto mounted = host_.Get(*key);
  return ToGrpc(mounted.status());
}

grpc::Status DriveService::unmount(grpc::ServerContext* ctx, const rpc::UnmountDriveRequest* req,
                                   rpc::UnmountDriveResponse* /*rsp*/) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status p = CheckPath(req->path()); !p.ok()) return ToGrpc(p);
  return ToGrpc((*s)->RunWrite([&](drive::Drive& d) { return d.Unmount(req->path()); }));
}

grpc::Status DriveService::mounts(grpc::ServerContext* ctx, const rpc::DriveMountsRequest* req,
                                  rpc::DriveMountsResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  return ToGrpc((*s)->Run([&](drive::Drive& d) -> Status {
    ASSIGN_OR_RETURN(auto all, d.GetAllMounts());
    for (const auto& m : all) {
      rpc::MountInfo* info = rsp->add_mounts();
      info->set_path(m.path);
      info->mutable_opts()->set_key(BytesOf(m.metadata_key));
    }
    return Status::Ok();
  }));
}

grpc::Status DriveService::fileStats(grpc::ServerContext* ctx, const rpc::FileStatsRequest* req,
                                     rpc::FileStatsResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status p = CheckPath(req->path()); !p.ok()) return ToGrpc(p);
  return ToGrpc((*s)->Run([&](drive::Drive& d) -> Status {
    ASSIGN_OR_RETURN(drive::Stat st, d.GetStat(req->path()));
    auto& out = *rsp->mutable_stats();
    if (!st.IsDirectory()) {
      out[req->path()] = FileStatsOf(d, st);
      return Status::Ok();
    }
    // A directory: every file below it, by path.
    drive::ReaddirOptions o;
    o.recursive = true;
    o.no_mounts = true;
    ASSIGN_OR_RETURN(auto entries, d.Readdir(req->path(), o));
    for (const auto& e : entries) {
      if (e.stat.IsFile()) out[e.path] = FileStatsOf(d, e.stat);
    }
    return Status::Ok();
  }));
}

// --- file descriptors ---

grpc::Status DriveService::open(grpc::ServerContext* ctx, const rpc::OpenRequest* req,
                                rpc::OpenResponse* rsp) {
  HYPER_AUTHORIZE(ctx);
  auto s = SessionOf(req->id());
  if (!s.ok()) return ToGrpc(s.status());
  if (Status p = CheckPath(req->path()); !p.ok()) return ToGrpc(p);
  // Linux O_* flags to the drive's.
  const uint32_t f = req->flags();
  uint32_t flags = 0;
  const uint32_t access = f & 3;  // O_RDONLY 0, O_WRONLY 1, O_RDWR 2
  if (access == 0 || access == 2) flags |= drive::kOpenRead;
  if (access == 1 || access == 2) flags |= drive::kOpenWrite;
  if (f & 0100) flags |= drive::kOpenCreate;     // O_CREAT
  if (f & 0200) flags |= drive::kOpenExclusive;  // O_EXCL
  if (f & 01000) flags |= drive::kOpenTruncate;  // O_TRUNC
  if (f & 02000) flags |= drive::kOpenAppend;    // O_APPEND
  return ToGrpc((*s)->Run([&](drive::Drive& d) -> Status {
    if ((*s)->files.size() >= 1024) return Status::Busy("1024 files open in this session");
    ASSIGN_OR_RETURN(auto file, d.OpenFile(req->path(), flags));
    const uint32_t fd = (*s)->next_fd++;
    (*s)->files[fd] = std::move(file);
    rsp->set_fd(fd);
    return Status::Ok();
  }));
}

grpc::Status DriveService::read(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<rpc::ReadResponse, rpc::ReadRequest>* stream) {
  HYPER_AUTHORIZE(ctx);
  rpc::ReadRequest req;
  while (stream->Read(&req)) {
    auto s = SessionOf(req.id());
    if (!s.ok()) return ToGrpc(s.status());
    const uint64_t length = std::min<uint64_t>(req.length(), 4 << 20);
    Bytes data;
    Status st = (*s)->Run([&](drive::Drive&) -> Status {
      auto it = (*s)->files.find(req.fd());
      if (it == (*s)->files.end()) {
        return Status::InvalidArgument("no open file " + std::to_string(req.fd()));
      }
      ASSIGN_OR_RETURN(data, it->second->Read(req.offset(), length));
      return Status::Ok();
    });
    if (!st.ok()) return ToGrpc(st);
    rpc::ReadResponse rsp;
    rsp.set_content(std::string(data.begin(), data.end()));
    if (!stream->Write(rsp)) return {grpc::StatusCode::CANCELLED, "the client went away"};
  }
  return grpc::Status::OK;
}

grpc::Status DriveService::write(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<rpc::WriteResponse, rpc::WriteRequest>* stream) {
  HYPER_AUTHORIZE(ctx);
  // The API has no rpc that closes a descriptor: the files written in this stream are closed
  // (their Stats written) when the client ends it.
  std::shared_ptr<DriveSession> session;
  // Held from the first message to the end, as a write stream holds it: a handle that wrote
  // holds the drive's content lock until it is closed, and the drive's other writers must wait
  // for that without holding the drive's lock.
  std::unique_lock<std::mutex> writes;
  std::set<uint32_t> written;
  rpc::WriteRequest req;
  Status st;
  while (st.ok() && stream->Read(&req)) {
    auto s = SessionOf(req.id());
    if (!s.ok()) {
      st = s.status();
      break;
    }
    if (session && session != *s) {
      st = Status::InvalidArgument("one write stream writes to one session");
      break;
    }
    if (!session) writes = (*s)->hosted->LockWrites();
    session = *s;
    st = session->Run([&](drive::Drive&) -> Status {
      auto it = session->files.find(req.fd());
      if (it == session->files.end()) {
        return Status::InvalidArgument("no open file " + std::to_string(req.fd()));
      }
      const std::string& c = req.contents();
      RETURN_IF_ERROR(
          it->second
              ->Write(req.offset(), ByteView(reinterpret_cast<const uint8_t*>(c.data()), c.size()))
              .status());
      written.insert(req.fd());
      return Status::Ok();
    });
    if (st.ok() && !stream->Write(rpc::WriteResponse())) {
      st = Status::Cancelled("the client went away");
    }
  }
  if (session && !written.empty()) {
    Status closed = session->Run([&](drive::Drive&) -> Status {
      Status first;
      for (uint32_t fd : written) {
        auto it = session->files.find(fd);
        if (it == session->files.end()) continue;
        Status c = it->second->Close();
        if (first.ok() && !c.ok()) first = c;
        session->files.erase(it);
      }
      return first;
    });
    if (st.ok()) st = closed;
  }
  return ToGrpc(st);
}

}  // namespace hyper::daemon
