#include "gc_commands.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "display_names.h"
#include "hyper/corestore/corestore.h"
#include "hyper/corestore/storage_root.h"
#include "number_options.h"
#include "session.h"

namespace hyper::cli {
namespace {

Status Print(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
    return Status::FromErrno(errno, "writing to stdout");
  }
  return Status::Ok();
}

// Bytes the content feed of `d` takes on disk: st_blocks * 512 of its `data` file in the store
// (<store>/<dk[0..2]>/<dk[2..4]>/<dk>/data), 0 when it has none.
uint64_t ContentDiskBytes(const std::string& store_dir, const drive::Drive& d) {
  if (!d.content_feed()) return 0;
  const std::string path = store_dir + "/" +
                           corestore::Corestore::CoreDirectory(d.content_feed()->discovery_key()) +
                           "/data";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// One drive's outcome, as printed.
struct Outcome {
  std::string url;
  drive::GcReport report;
  uint64_t disk_before = 0;
  uint64_t disk_after = 0;
};

std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string Text(const Outcome& o, bool gc, bool dry_run) {
  const drive::GcReport& r = o.report;
  std::string s = o.url + "\n";
  if (gc) {
    s += "  kept: versions " + std::to_string(r.first_retained) + ".." + std::to_string(r.latest);
    const bool terminal = StdoutIsTerminal();
    for (const auto& [name, version] : r.tags) {
      s += ", tag " + DisplayName(name, terminal) + " (" + std::to_string(version) + ")";
    }
    s += "\n";
  }
  s += std::string(dry_run ? "  would free: " : "  freed: ") + Plural(r.files, "file", "files") +
       ", " + Plural(r.blocks, "block", "blocks") + ", " + Plural(r.bytes, "byte", "bytes") + "\n";
  s += "  disk (content data): " + std::to_string(o.disk_before) + " bytes before, " +
       std::to_string(o.disk_after) + " bytes after" + (dry_run ? " (dry run)" : "") + "\n";
  return s;
}

nlohmann::json Json(const Outcome& o) {
  const drive::GcReport& r = o.report;
  nlohmann::json j = {{"url", o.url},
                      {"files", r.files},
                      {"blocks", r.blocks},
                      {"bytes", r.bytes},
                      {"latest", r.latest},
                      {"diskBefore", o.disk_before},
                      {"diskAfter", o.disk_after}};
  if (r.first_retained != 0) j["firstRetained"] = r.first_retained;
  nlohmann::json tags = nlohmann::json::array();
  for (const auto& [name, version] : r.tags) {
    nlohmann::json t = nlohmann::json::object();
    SetJsonText(t, "name", name);
    t["version"] = version;
    tags.push_back(std::move(t));
  }
  j["tags"] = tags;
  return j;
}

Status PrintOutcomes(const std::vector<Outcome>& outcomes, const GcArgs& a, bool gc) {
  std::string out;
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& o : outcomes) j.push_back(Json(o));
    nlohmann::json doc = {{"dryRun", a.dry_run}, {"drives", j}};
    out = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    for (const auto& o : outcomes) out += Text(o, gc, a.dry_run);
    if (outcomes.size() > 1) {
      Outcome total;
      total.url = "total (" + std::to_string(outcomes.size()) + " drives)";
      for (const auto& o : outcomes) {
        total.report.files += o.report.files;
        total.report.blocks += o.report.blocks;
        total.report.bytes += o.report.bytes;
        total.disk_before += o.disk_before;
        total.disk_after += o.disk_after;
      }
      out += Text(total, false, a.dry_run);
    }
  }
  return Print(out);
}

Result<drive::GcOptions> OptionsOf(const GcArgs& a) {
  drive::GcOptions o;
  o.keep_versions = a.keep_versions.value_or(1);
  if (!a.keep_since.empty()) {
    ASSIGN_OR_RETURN(o.keep_since, ParseDate(a.keep_since));
  }
  o.dry_run = a.dry_run;
  return o;
}

Result<Outcome> CollectOne(const std::string& store_dir, drive::Drive& d,
                           const drive::GcOptions& options) {
  Outcome o;
  o.url = FormatUrl(d.key());
  o.disk_before = ContentDiskBytes(store_dir, d);
  ASSIGN_OR_RETURN(o.report, d.ClearUntagged(options));
  if (d.content_feed()) RETURN_IF_ERROR(d.content_feed()->Flush());
  o.disk_after = ContentDiskBytes(store_dir, d);
  return o;
}

Status Gc(const std::string& storage, const GcArgs& a) {
  if (a.all == !a.url.empty()) return Status::InvalidArgument("give a drive's URL or --all");
  ASSIGN_OR_RETURN(drive::GcOptions options, OptionsOf(a));
  const std::string root = ResolveStorageRoot(storage);
  const std::string dir = corestore::CoresDirectory(root);
  // gc writes the store (bitfields, holes): a writer, alone.
  ASSIGN_OR_RETURN(auto session, Session::Open(root, Access::kWrite));
  std::vector<Outcome> outcomes;
  if (a.all) {
    ASSIGN_OR_RETURN(auto keys, session->ListDrives());
    for (const auto& key : keys) {
      ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(FormatUrl(key)));
      if (!od.head->writable()) continue;  // a replica: `hyperdrive clear` frees its content
      auto o = CollectOne(dir, *od.head, options);
      if (!o.ok()) return o.status().Annotate(FormatUrl(key));
      outcomes.push_back(std::move(*o));
    }
  } else {
    ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(a.url));
    if (od.checkout) {
      return Status::InvalidArgument(
          "gc works on a whole drive: give its URL without +version (tag the versions to keep)");
    }
    if (od.path != "/") {
      return Status::InvalidArgument("gc works on a whole drive: give its URL without a path");
    }
    ASSIGN_OR_RETURN(Outcome o, CollectOne(dir, *od.head, options));
    outcomes.push_back(std::move(o));
  }
  RETURN_IF_ERROR(PrintOutcomes(outcomes, a, /*gc=*/true));
  return session->Close();
}

Status Clear(const std::string& storage, const GcArgs& a) {
  const std::string root = ResolveStorageRoot(storage);
  const std::string dir = corestore::CoresDirectory(root);
  ASSIGN_OR_RETURN(auto session, Session::Open(root, Access::kWrite));
  ASSIGN_OR_RETURN(OpenedDrive od, session->OpenUrl(a.url));
  Outcome o;
  o.url = a.url;
  o.disk_before = ContentDiskBytes(dir, *od.head);
  ASSIGN_OR_RETURN(o.report, od.drive().ClearContent(od.path));
  if (od.head->content_feed()) RETURN_IF_ERROR(od.head->content_feed()->Flush());
  o.disk_after = ContentDiskBytes(dir, *od.head);
  RETURN_IF_ERROR(PrintOutcomes({o}, a, /*gc=*/false));
  return session->Close();
}

}  // namespace

Result<uint64_t> ParseDate(std::string_view text) {
  const std::string s(text);
  const std::string bad = "not a date: '" + s +
                          "' (YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z] in UTC, or @SECONDS since "
                          "1970)";
  if (!s.empty() && s[0] == '@') {
    auto seconds = ParseWholeNumber(std::string_view(s).substr(1), 0, uint64_t{1} << 40);
    if (!seconds.ok()) return Status::InvalidArgument(bad);
    return *seconds * 1000;
  }
  for (const char* format :
       {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    std::tm tm{};
    const char* end = strptime(s.c_str(), format, &tm);
    if (end == nullptr) continue;
    if (*end == 'Z') ++end;
    if (*end != '\0') continue;
    const std::time_t t = timegm(&tm);
    if (t < 0) return Status::InvalidArgument(bad);
    return static_cast<uint64_t>(t) * 1000;
  }
  return Status::InvalidArgument(bad);
}

void AddGcCommands(CLI::App& app, const std::string& storage, GcArgs& a, Action* action) {
  auto set = [action](const Action& act) { return [action, act] { *action = act; }; };

  auto gc = app.add_subcommand(
      "gc",
      "Free on disk the content blocks that neither the latest version, nor a tagged one, nor a "
      "version kept by --keep-versions / --keep-since reads (a drive written here; every "
      "version still lists its files, and reading a freed one says it is not available "
      "locally). Prints what it frees (files, blocks, bytes) and the disk the drive's content "
      "takes before and after");
  gc->add_option("url", a.url, "hyper://<key> (no version, no path)");
  gc->add_flag("--all", a.all, "Every drive of the store written here (replicas: see clear)");
  AddNumberOption(gc, "--keep-versions", a.keep_versions,
                  "Keep what the last N versions read (default 1: the latest only)", 1);
  gc->add_option("--keep-since", a.keep_since,
                 "Keep the versions written since DATE and the one current then: YYYY-MM-DD, "
                 "YYYY-MM-DDTHH:MM[:SS] (UTC) or @SECONDS. A version's time is the newest "
                 "ctime of the Stats written up to it")
      ->check(CLI::Validator(
          [](std::string& v) {
            auto d = ParseDate(v);
            return d.ok() ? std::string() : d.status().message();
          },
          "DATE"));
  gc->add_flag("--dry-run", a.dry_run, "Print what would be freed; free nothing");
  gc->add_flag("--json", a.json, "Print JSON");
  gc->callback(set([&storage, &a] { return Gc(storage, a); }));

  auto clear = app.add_subcommand(
      "clear",
      "Free the local content of a drive we only read (a replica): all of it, or one file's "
      "with <url>/path. It can be fetched again from a peer; a drive written here is refused "
      "(use gc)");
  clear->add_option("url", a.url, "hyper://<key>[/path]")->required();
  clear->add_flag("--json", a.json, "Print JSON");
  clear->callback(set([&storage, &a] { return Clear(storage, a); }));
}

}  // namespace hyper::cli
