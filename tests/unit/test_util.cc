#include "test_util.h"

#include <dirent.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hlsbridge::testing {

ScratchDir::ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr && *tmp ? tmp : "/tmp") +
                      "/hlsbridge-test-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + templ + " failed");
  }
  path_ = templ;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFileOrDie(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool FaultEnv::ShouldFail(FaultStep step) {
  if (step_.load() != step) return false;
  if (skip_ > 0) {
    --skip_;
    return false;
  }
  ++failures_;
  return true;
}

namespace {

class FaultFile : public WritableFile {
 public:
  FaultFile(FaultEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}
  Status Append(std::string_view data) override {
    if (env_->ShouldFail(FaultStep::kWrite)) {
      // Write part of it first, as a real full disk would.
      (void)base_->Append(data.substr(0, data.size() / 2));
      return Status::IOError(path_, "write", err());
    }
    return base_->Append(data);
  }
  Status Sync() override {
    if (env_->ShouldFail(FaultStep::kFsync)) {
      return Status::IOError(path_, "fsync", err());
    }
    return base_->Sync();
  }
  Status Close() override {
    Status s = base_->Close();
    if (env_->ShouldFail(FaultStep::kClose)) {
      return Status::IOError(path_, "close", err());
    }
    return s;
  }
  void set_err(int e) { err_ = e; }
  int err() const { return err_; }

 private:
  FaultEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
  int err_ = EIO;
};

}  // namespace

Status FaultEnv::NewWritableFile(const std::string& path,
                                 std::unique_ptr<WritableFile>* result) {
  if (ShouldFail(FaultStep::kOpen)) return Status::IOError(path, "open", err_);
  std::unique_ptr<WritableFile> base;
  Status s = EnvWrapper::NewWritableFile(path, &base);
  if (!s.ok()) return s;
  auto f = std::make_unique<FaultFile>(this, path, std::move(base));
  f->set_err(err_);
  *result = std::move(f);
  return Status::OK();
}

Status FaultEnv::RenameFile(const std::string& from, const std::string& to) {
  if (ShouldFail(FaultStep::kRename)) return Status::IOError(to, "rename", err_);
  return EnvWrapper::RenameFile(from, to);
}

namespace {

// Fails Sync() when the FaultEnv says so (kSyncFile, or kSyncDir for a
// directory).
class FaultSyncable : public SyncableFile {
 public:
  FaultSyncable(FaultEnv* env, std::string path, bool directory,
                std::unique_ptr<SyncableFile> base)
      : env_(env), path_(std::move(path)), directory_(directory), base_(std::move(base)) {}
  void StartWriteback() override { base_->StartWriteback(); }
  Status Sync() override {
    if (env_->ShouldFail(directory_ ? FaultStep::kSyncDir : FaultStep::kSyncFile)) {
      return Status::IOError(path_, directory_ ? "fsync dir" : "fsync", env_->err());
    }
    return base_->Sync();
  }

 private:
  FaultEnv* env_;
  std::string path_;
  bool directory_;
  std::unique_ptr<SyncableFile> base_;
};

}  // namespace

Status FaultEnv::OpenForSync(const std::string& path, bool directory,
                             std::unique_ptr<SyncableFile>* result) {
  std::unique_ptr<SyncableFile> base;
  Status s = EnvWrapper::OpenForSync(path, directory, &base);
  if (!s.ok()) return s;
  *result = std::make_unique<FaultSyncable>(this, path, directory, std::move(base));
  return Status::OK();
}

Status FaultEnv::SyncDir(const std::string& dir) {
  if (ShouldFail(FaultStep::kSyncDir)) {
    return Status::IOError(dir, "fsync dir", err_);
  }
  return EnvWrapper::SyncDir(dir);
}

namespace {

class MemFile : public WritableFile {
 public:
  MemFile(MemEnv* env, std::string path) : env_(env), path_(std::move(path)) {}
  Status Append(std::string_view data) override {
    env_->Append(path_, data);
    return Status::OK();
  }
  Status Sync() override { return Status::OK(); }
  Status Close() override { return Status::OK(); }

 private:
  MemEnv* env_;
  std::string path_;
};

// "/a/./b/../c" -> "/a/c"; "" for a relative path.
std::string Normalize(const std::string& path) {
  if (path.empty() || path[0] != '/') return "";
  std::vector<std::string> parts;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    const std::string part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

}  // namespace

MemEnv::MemEnv() { dirs_.insert("/"); }

std::string MemEnv::Contents(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(Normalize(path));
  return it == files_.end() ? std::string() : it->second;
}

void MemEnv::Append(const std::string& path, std::string_view data) {
  std::lock_guard<std::mutex> l(mu_);
  files_[path].append(data);
}

bool MemEnv::IsDirLocked(const std::string& path) const {
  return dirs_.count(path) > 0;
}

Status MemEnv::CreateDir(const std::string& dir) {
  const std::string d = Normalize(dir);
  if (d.empty()) return Status::IOError(dir, "mkdir", EINVAL);
  std::lock_guard<std::mutex> l(mu_);
  for (std::string p = d; p != "/"; p = DirName(p)) {
    if (files_.count(p)) return Status::IOError(p, "mkdir", ENOTDIR);
  }
  for (std::string p = d; p != "/"; p = DirName(p)) dirs_.insert(p);
  return Status::OK();
}

Status MemEnv::NewWritableFile(const std::string& path,
                               std::unique_ptr<WritableFile>* result) {
  const std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(mu_);
  if (p.empty() || !IsDirLocked(DirName(p))) return Status::IOError(path, "open", ENOENT);
  if (files_.count(p) || IsDirLocked(p)) return Status::IOError(path, "open", EEXIST);
  files_[p];
  *result = std::make_unique<MemFile>(this, p);
  return Status::OK();
}

Status MemEnv::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(Normalize(from));
  if (it == files_.end()) return Status::IOError(to, "rename", ENOENT);
  std::string data = std::move(it->second);
  files_.erase(it);
  files_[Normalize(to)] = std::move(data);
  return Status::OK();
}

Status MemEnv::LinkFile(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(Normalize(from));
  if (it == files_.end()) return Status::IOError(from, "link", ENOENT);
  if (files_.count(Normalize(to))) return Status::IOError(from, "link", EEXIST);
  files_[Normalize(to)] = it->second;
  return Status::OK();
}

Status MemEnv::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  if (files_.erase(Normalize(path)) == 0) return Status::IOError(path, "remove", ENOENT);
  return Status::OK();
}

namespace {

class MemSyncable : public SyncableFile {
 public:
  Status Sync() override { return Status::OK(); }
};

}  // namespace

Status MemEnv::OpenForSync(const std::string& path, bool directory,
                           std::unique_ptr<SyncableFile>* result) {
  if (!FileExists(path)) {
    return Status::IOError(path, directory ? "fsync dir" : "fsync", ENOENT);
  }
  *result = std::make_unique<MemSyncable>();
  return Status::OK();
}

Status MemEnv::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> l(mu_);
  return IsDirLocked(Normalize(dir)) ? Status::OK()
                                     : Status::IOError(dir, "fsync dir", ENOENT);
}

Status MemEnv::GetChildren(const std::string& dir, std::vector<std::string>* names) {
  const std::string d = Normalize(dir);
  std::lock_guard<std::mutex> l(mu_);
  if (!IsDirLocked(d)) return Status::IOError(dir, "opendir", ENOENT);
  names->clear();
  for (const auto& [path, data] : files_) {
    if (DirName(path) == d) names->push_back(BaseName(path));
  }
  for (const std::string& sub : dirs_) {
    if (sub != "/" && DirName(sub) == d) names->push_back(BaseName(sub));
  }
  return Status::OK();
}

bool MemEnv::FileExists(const std::string& path) {
  const std::string p = Normalize(path);
  std::lock_guard<std::mutex> l(mu_);
  return files_.count(p) > 0 || IsDirLocked(p);
}

Status MemEnv::RealPath(const std::string& path, std::string* result) {
  if (!FileExists(path)) return Status::IOError(path, "realpath", ENOENT);
  *result = Normalize(path);
  return Status::OK();
}

Status MemEnv::ReadFile(const std::string& path, std::string* contents) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(Normalize(path));
  if (it == files_.end()) return Status::IOError(path, "open", ENOENT);
  *contents = it->second;
  return Status::OK();
}

}  // namespace hlsbridge::testing
