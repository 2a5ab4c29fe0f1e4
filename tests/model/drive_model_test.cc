// Random file operations against our Drive and against a plain in-memory filesystem model,
// with checkouts, tags, garbage collection, a reopen and writes that repeat earlier bytes
// (deduplicated: files sharing content blocks): every path's kind, contents, metadata,
// resolution through symlinks, error codes and one-level listings must agree, at the head and
// at every recorded version (a version gc no longer keeps may only say its files' content is
// not available locally).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "hyper/corestore/corestore.h"
#include "hyper/drive/drive.h"
#include "hyper/storage/file.h"

namespace hyper::drive {
namespace {

struct Entry {
  enum Kind { kFile, kDir, kLink } kind = kFile;
  Bytes content;
  std::string target;  // kLink: an absolute path
  std::map<std::string, Bytes> metadata;
};

using Model = std::map<std::string, Entry>;

std::string Parent(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == 0 ? "/" : p.substr(0, slash);
}

bool HasBelow(const Model& m, const std::string& p) {
  std::string prefix = p == "/" ? "/" : p + "/";
  auto it = m.lower_bound(prefix);
  return it != m.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

enum class Kind { kNone, kFile, kDir, kLink };

Kind LkindOf(const Model& m, const std::string& p) {
  if (p == "/") return Kind::kDir;
  auto it = m.find(p);
  if (it != m.end()) {
    return it->second.kind == Entry::kFile  ? Kind::kFile
           : it->second.kind == Entry::kDir ? Kind::kDir
                                            : Kind::kLink;
  }
  return HasBelow(m, p) ? Kind::kDir : Kind::kNone;
}

// A path's directory part resolves through symlinks (as in POSIX): `p` with its first
// symlinked ancestor replaced by the link's target, or "" when the path is stored where it is
// (its parent is a stored directory) or no ancestor is a link. Only tried where `p` itself is
// not found (reads) and before every write.
std::string ParentLink(const Model& m, const std::string& p) {
  const std::string parent = Parent(p);
  if (parent == "/") return "";
  auto direct = m.find(parent);
  if (direct != m.end() && direct->second.kind != Entry::kLink) return "";
  for (size_t slash = p.find('/', 1); slash != std::string::npos; slash = p.find('/', slash + 1)) {
    auto it = m.find(p.substr(0, slash));
    if (it == m.end() || it->second.kind == Entry::kDir) continue;
    if (it->second.kind == Entry::kFile) return "";
    return it->second.target + p.substr(slash);
  }
  return "";
}

// Follows symlinks (of the path and of its directories): the final path, or an error code.
std::pair<Code, std::string> ResolveModel(const Model& m, std::string p) {
  for (int hop = 0; hop <= 32; hop++) {
    Kind k = LkindOf(m, p);
    if (k == Kind::kNone) {
      std::string via = ParentLink(m, p);
      if (via.empty()) return {Code::kNotFound, ""};
      p = via;
      continue;
    }
    if (k != Kind::kLink) return {Code::kOk, p};
    p = m.at(p).target;
  }
  return {Code::kLoop, ""};
}

// Lstat's path: through symlinked directories, not through a final link.
std::pair<Code, std::string> LstatPathModel(const Model& m, std::string p) {
  for (int hop = 0; hop <= 32; hop++) {
    if (LkindOf(m, p) != Kind::kNone) return {Code::kOk, p};
    std::string via = ParentLink(m, p);
    if (via.empty()) return {Code::kNotFound, p};
    p = via;
  }
  return {Code::kLoop, ""};
}

// Where a write to `p` lands.
std::pair<Code, std::string> WritePathModel(const Model& m, std::string p) {
  for (int hop = 0;; hop++) {
    if (hop > 32) return {Code::kLoop, ""};
    std::string via = ParentLink(m, p);
    if (via.empty()) return {Code::kOk, p};
    p = via;
  }
}

Code AncestorError(const Model& m, const std::string& p) {
  for (std::string d = Parent(p); d != "/"; d = Parent(d)) {
    auto it = m.find(d);
    if (it != m.end() && it->second.kind == Entry::kFile) return Code::kNotADirectory;
  }
  return Code::kOk;
}

// With a mount, drive B is mounted at kMountPoint of drive A (both writable in one store).
constexpr const char* kMountPoint = "/m";

bool InMount(const std::string& p) { return p.rfind("/m/", 0) == 0; }

class DriveModelTest : public ::testing::TestWithParam<std::tuple<int, bool>> {};

std::vector<std::string> AllPaths(bool with_mount) {
  std::vector<std::string> out;
  std::vector<std::string> names = {"a", "b", "ç"};
  if (with_mount) names.push_back("m");
  for (const auto& x : names) {
    out.push_back("/" + x);
    for (const auto& y : names) {
      out.push_back("/" + x + "/" + y);
      for (const auto& z : names) out.push_back("/" + x + "/" + y + "/" + z);
    }
  }
  return out;
}

// `freed_allowed`: a version that garbage collection no longer keeps, whose files may say
// their content is not available locally (never give other bytes).
void Verify(const Drive& drive, const Model& m, const std::vector<std::string>& paths,
            const std::string& where, bool freed_allowed = false) {
  SCOPED_TRACE(where);
  std::vector<std::string> all = paths;
  all.push_back("/");
  for (const auto& p : all) {
    SCOPED_TRACE(p);
    auto [lcode, lpath] = LstatPathModel(m, p);
    Kind k = lcode == Code::kOk ? LkindOf(m, lpath) : Kind::kNone;
    auto lst = drive.Lstat(p);
    if (lcode != Code::kOk) {
      EXPECT_EQ(lst.status().code(), lcode);
    } else if (k == Kind::kNone) {
      EXPECT_EQ(lst.status().code(), Code::kNotFound);
    } else {
      ASSERT_TRUE(lst.ok()) << lst.status().ToString();
      EXPECT_EQ(lst->IsFile(), k == Kind::kFile);
      EXPECT_EQ(lst->IsDirectory(), k == Kind::kDir);
      EXPECT_EQ(lst->IsSymlink(), k == Kind::kLink);
      auto it = m.find(lpath);
      if (it != m.end()) {
        std::map<std::string, Bytes> md;
        for (const auto& [key, v] : lst->metadata) {
          if (v) md[key] = *v;
        }
        EXPECT_EQ(md, it->second.metadata);
        if (k == Kind::kLink) {
          EXPECT_EQ(lst->linkname, it->second.target);
        }
      }
    }
    auto [code, final_path] = ResolveModel(m, p);
    auto st = drive.GetStat(p);
    EXPECT_EQ(st.status().code(), code);
    auto data = drive.ReadFile(p);
    auto listing = drive.Readdir(p);
    if (code != Code::kOk) {
      EXPECT_EQ(data.status().code(), code);
      EXPECT_EQ(listing.status().code(), code);
      continue;
    }
    Kind fk = LkindOf(m, final_path);
    if (fk == Kind::kFile) {
      if (freed_allowed && !data.ok() && data.status().code() == Code::kNotFound &&
          data.status().message().find("is not available locally") != std::string::npos) {
        continue;
      }
      ASSERT_TRUE(data.ok()) << data.status().ToString();
      EXPECT_EQ(*data, m.at(final_path).content);
      EXPECT_EQ(st->size, m.at(final_path).content.size());
      EXPECT_EQ(listing.status().code(), Code::kNotADirectory);
    } else {
      EXPECT_EQ(data.status().code(), Code::kIsADirectory);
      ASSERT_TRUE(listing.ok()) << listing.status().ToString();
      std::set<std::string> names;
      for (const auto& e : *listing) EXPECT_TRUE(names.insert(e.name).second) << e.name;
      std::set<std::string> expected;
      std::string prefix = final_path == "/" ? "/" : final_path + "/";
      for (auto it = m.lower_bound(prefix);
           it != m.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        std::string rest = it->first.substr(prefix.size());
        expected.insert(rest.substr(0, rest.find('/')));
      }
      EXPECT_EQ(names, expected);
    }
  }
}

TEST_P(DriveModelTest, RandomOperations) {
  const auto [seed, with_mount] = GetParam();
  std::mt19937_64 rng(seed);
  storage::MemoryDirectory dir;
  auto store = std::move(corestore::Corestore::Open(dir.factory())).value();
  auto drive = std::move(Drive::Open(*store)).value();
  const auto paths = AllPaths(with_mount);
  std::unique_ptr<Drive> mounted;
  Model model;
  if (with_mount) {
    DriveOptions o;
    o.namespace_name = "b";
    mounted = std::move(Drive::Open(*store, o)).value();
    ASSERT_TRUE(drive->Mount(kMountPoint, mounted->key()).ok());
    model[kMountPoint] = Entry{Entry::kDir, {}, "", {}};
  }
  const bool& mount_on = with_mount;
  auto pick = [&] { return paths[rng() % paths.size()]; };
  auto rand_bytes = [&](size_t n) {
    Bytes b(n);
    for (auto& c : b) c = static_cast<uint8_t>(rng());
    return b;
  };
  std::vector<std::pair<uint64_t, Model>> snapshots;
  std::set<uint64_t> tagged;  // snapshot versions with a tag
  // Its own generator: the operations each seed makes stay those it made before tags and gc.
  std::mt19937_64 tag_rng(seed + 1000);
  // Deduplication: a third of the writes repeat bytes written before (to any path, in this
  // drive or the mounted one), so that files share content blocks; its own generator too.
  std::mt19937_64 dup_rng(seed + 2000);
  std::vector<Bytes> written_contents;
  int deduplicated = 0;

  for (int step = 0; step < 500; step++) {
    const std::string picked = pick();
    // Every write goes through the symlinked directories of its path first.
    const auto [write_code, p] = WritePathModel(model, picked);
    const int op = static_cast<int>(rng() % 100);
    Code expected = Code::kOk;
    Code got = Code::kOk;
    Kind k = LkindOf(model, p);
    if (write_code != Code::kOk) {
      expected = write_code;
      got = drive->Mkdir(picked).code();
    } else if (op < 35) {  // writeFile
      size_t n = rng() % 8 == 0 ? 600000 + rng() % 1000 : rng() % 300;
      Bytes data = rand_bytes(n);
      if (!written_contents.empty() && dup_rng() % 3 == 0) {
        data = written_contents[dup_rng() % written_contents.size()];
      } else {
        written_contents.push_back(data);
      }
      if (k == Kind::kDir) {
        expected = Code::kIsADirectory;
      } else {
        expected = AncestorError(model, p);
      }
      if (expected == Code::kOk) model[p] = Entry{Entry::kFile, data, "", {}};
      const uint64_t content_before = drive->content_feed()->length();
      auto written = drive->WriteFile(picked, data);
      got = written.status().code();
      // A Stat before the blocks there were: it points at another file's.
      if (written.ok() && !InMount(p) && written->offset < content_before) deduplicated++;
    } else if (op < 45) {  // mkdir
      if (model.count(p) != 0) {
        expected = Code::kExists;
      } else {
        expected = AncestorError(model, p);
      }
      if (expected == Code::kOk) model[p] = Entry{Entry::kDir, {}, "", {}};
      got = drive->Mkdir(picked).code();
    } else if (op < 60) {  // unlink
      if (k == Kind::kNone) {
        expected = Code::kNotFound;
      } else if (k == Kind::kDir) {
        expected = Code::kIsADirectory;
      } else {
        model.erase(p);
      }
      got = drive->Unlink(picked).code();
    } else if (op < 70) {  // rmdir
      auto it = model.find(p);
      if (mount_on && p == kMountPoint) {
        expected = Code::kInvalidArgument;
      } else if (it != model.end() && it->second.kind != Entry::kDir) {
        expected = Code::kNotADirectory;
      } else if (HasBelow(model, p)) {
        expected = Code::kNotEmpty;
      } else if (it == model.end()) {
        expected = Code::kNotFound;
      } else {
        model.erase(it);
      }
      got = drive->Rmdir(picked).code();
    } else if (op < 78) {  // symlink
      std::string target = pick();
      if (k != Kind::kNone) {
        expected = Code::kExists;
      } else {
        expected = AncestorError(model, p);
      }
      if (expected == Code::kOk) model[p] = Entry{Entry::kLink, {}, target, {}};
      got = drive->Symlink(target, picked).code();
    } else if (op < 86) {  // setMetadata / removeMetadata
      std::string key = rng() % 2 ? "x" : "y";
      bool remove = rng() % 3 == 0;
      auto it = model.find(p);
      if (mount_on && p == kMountPoint) {
        expected = Code::kInvalidArgument;
      } else if (it == model.end()) {
        expected = Code::kNotFound;
      } else if (remove) {
        it->second.metadata.erase(key);
      } else {
        it->second.metadata[key] = ToBytes("v" + std::to_string(step));
      }
      got = remove ? drive->RemoveMetadata(picked, key).code()
                   : drive->SetMetadata(picked, key, ToBytes("v" + std::to_string(step))).code();
    } else if (op < 92) {  // truncate
      uint64_t size = rng() % 400;
      if (k == Kind::kDir) {
        expected = Code::kIsADirectory;
      } else if (k == Kind::kLink) {
        expected = Code::kInvalidArgument;
      } else {
        expected = AncestorError(model, p);
      }
      if (expected == Code::kOk) {
        Entry& e = model[p];
        e.kind = Entry::kFile;
        e.content.resize(size, 0);
      }
      got = drive->Truncate(picked, size).code();
    } else {  // copy
      std::string from = pick();
      auto [rc, final_from] = ResolveModel(model, from);
      if (rc != Code::kOk) {
        expected = rc;
      } else if (k != Kind::kNone) {
        expected = Code::kExists;
      } else if (LkindOf(model, final_from) == Kind::kFile && InMount(final_from) != InMount(p)) {
        expected = Code::kUnsupported;  // between drives
      } else {
        expected = AncestorError(model, p);
      }
      if (expected == Code::kOk) {
        if (LkindOf(model, final_from) == Kind::kDir && model.count(final_from) == 0) {
          // Copying an implicit directory copies the Stat it shows: an explicit directory.
          model[p] = Entry{Entry::kDir, {}, "", {}};
        } else {
          model[p] = model.at(final_from);
        }
      }
      got = drive->Copy(from, picked).code();
    }
    if (std::getenv("HYPER_MODEL_TRACE") != nullptr) {
      std::fprintf(stderr, "step %d op %d %s (%s) -> %d\n", step, op, picked.c_str(), p.c_str(),
                   static_cast<int>(got));
    }
    ASSERT_EQ(got, expected) << "step " << step << " op " << op << " path " << picked << " (" << p
                             << ")";
    if (step % 25 == 0) {
      snapshots.emplace_back(drive->version(), model);
      // Half the snapshots are tagged: garbage collection must keep what they read.
      if (tag_rng() % 2 == 0) {
        ASSERT_TRUE(drive->CreateTag("s" + std::to_string(step)).ok());
        tagged.insert(snapshots.back().first);
      }
      Verify(*drive, model, paths, "head at step " + std::to_string(step));
      if (::testing::Test::HasFailure()) return;
    }
    if (step % 100 == 99) {  // gc: the head (and the tags) must read as before
      auto freed = drive->ClearUntagged();
      ASSERT_TRUE(freed.ok()) << freed.status().ToString();
      if (mounted) ASSERT_TRUE(mounted->ClearUntagged().ok());
      Verify(*drive, model, paths, "head after gc at step " + std::to_string(step));
      if (::testing::Test::HasFailure()) return;
    }
  }
  EXPECT_GT(deduplicated, 0) << "no write shared another file's blocks";
  Verify(*drive, model, paths, "head at the end");
  // Reopened: what gc cleared stays cleared, and the rest reads as before.
  const crypto::PublicKey key = drive->key();
  std::optional<crypto::PublicKey> mounted_key;
  if (mounted) mounted_key = mounted->key();
  drive.reset();
  mounted.reset();
  store.reset();
  store = std::move(corestore::Corestore::Open(dir.factory())).value();
  DriveOptions reopen;
  reopen.key = key;
  drive = std::move(Drive::Open(*store, reopen)).value();
  if (mounted_key) {
    reopen.key = *mounted_key;
    mounted = std::move(Drive::Open(*store, reopen)).value();
  }
  Verify(*drive, model, paths, "head after reopening");
  for (const auto& [version, snap] : snapshots) {
    auto co = drive->Checkout(version);
    ASSERT_TRUE(co.ok());
    // A checkout reads its (unpinned) mount at the mounted drive's latest version.
    Model expected;
    for (const auto& [path, e] : snap) {
      if (!InMount(path)) expected[path] = e;
    }
    for (const auto& [path, e] : model) {
      if (InMount(path)) expected[path] = e;
    }
    Verify(**co, expected, paths, "checkout " + std::to_string(version),
           /*freed_allowed=*/tagged.count(version) == 0);
    if (::testing::Test::HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, DriveModelTest,
                         ::testing::Combine(::testing::Range(1, 7), ::testing::Bool()));

}  // namespace
}  // namespace hyper::drive
