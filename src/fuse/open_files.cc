#include "open_files.h"

#include "paths.h"

namespace hyper::fuse {

std::shared_ptr<OpenFile> OpenFiles::Find(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_path_.find(path);
  return it == by_path_.end() ? nullptr : it->second.file;
}

void OpenFiles::Release(const std::shared_ptr<OpenFile>& file) {
  std::lock_guard<std::mutex> lock(mu_);
  auto p = paths_.find(file.get());
  if (p == paths_.end()) {
    auto f = forgotten_.find(file.get());
    if (f != forgotten_.end() && --f->second <= 0) forgotten_.erase(f);
    return;
  }
  auto it = by_path_.find(p->second);
  if (it == by_path_.end()) return;
  if (--it->second.handles <= 0) {
    by_path_.erase(it);
    paths_.erase(p);
  }
}

std::optional<std::string> OpenFiles::PathOf(const OpenFile* file) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto p = paths_.find(file);
  if (p == paths_.end()) return std::nullopt;
  return p->second;
}

std::vector<std::shared_ptr<OpenFile>> OpenFiles::AtOrBelow(const std::string& dir) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<OpenFile>> out;
  for (auto it = by_path_.lower_bound(dir); it != by_path_.end(); ++it) {
    if (it->first.compare(0, dir.size(), dir) != 0) break;
    if (IsAtOrBelow(it->first, dir)) out.push_back(it->second.file);
  }
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<OpenFile>>> OpenFiles::ChildrenOf(
    const std::string& dir) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, std::shared_ptr<OpenFile>>> out;
  for (auto it = by_path_.lower_bound(dir); it != by_path_.end(); ++it) {
    if (it->first.compare(0, dir.size(), dir) != 0) break;
    if (it->first != dir && ParentOf(it->first) == dir) {
      out.emplace_back(std::string(NameOf(it->first)), it->second.file);
    }
  }
  return out;
}

void OpenFiles::Forget(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return;
  forgotten_[it->second.file.get()] = it->second.handles;
  paths_.erase(it->second.file.get());
  by_path_.erase(it);
}

void OpenFiles::Move(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, Entry>> moved;
  for (auto it = by_path_.lower_bound(from); it != by_path_.end();) {
    if (it->first.compare(0, from.size(), from) != 0) break;
    if (!IsAtOrBelow(it->first, from)) {
      ++it;
      continue;
    }
    moved.emplace_back(Rebase(it->first, from, to), std::move(it->second));
    it = by_path_.erase(it);
  }
  for (auto& [path, entry] : moved) {
    paths_[entry.file.get()] = path;
    by_path_[path] = std::move(entry);
  }
}

}  // namespace hyper::fuse
