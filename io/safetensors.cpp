#include "io/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "ops/error.h"

namespace mf {

namespace {
constexpr uint64_t kMaxHeader = 100u << 20;  // as the reference implementation

uint64_t read_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(MappedFile::open(path)) {
  const size_t size = file_->size();
  if (size < 8)
    fail(path, ": not a safetensors file: ", size, " bytes, too short for the 8-byte header length");
  const uint64_t hlen = read_le64(file_->data());
  if (hlen > size - 8)
    fail(path, ": header length ", hlen, " is larger than the file (", size,
         " bytes): the file is truncated or not safetensors");
  if (hlen > kMaxHeader) fail(path, ": header length ", hlen, " is implausibly large");
  const char* hbeg = reinterpret_cast<const char*>(file_->data() + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(hbeg, hbeg + hlen);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": the safetensors header is not valid JSON (", e.what(), ")");
  }
  if (!header.is_object()) fail(path, ": the safetensors header is not a JSON object");
  data_ = file_->data() + 8 + hlen;
  const uint64_t data_size = size - 8 - hlen;

  for (auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) fail(path, ": __metadata__ is not an object");
      for (auto& [k, mv] : v.items())
        if (mv.is_string()) metadata_[k] = mv.get<std::string>();
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    if (!v.is_object()) fail(where, ": entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) fail(where, ": missing dtype");
    if (!v.contains("shape") || !v["shape"].is_array()) fail(where, ": missing shape");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      fail(where, ": missing or malformed data_offsets");
    SafetensorsEntry e;
    e.name = name;
    const std::string dt = v["dtype"].get<std::string>();
    if (!dtype_from_name(dt, e.dtype))
      fail(where, ": dtype '", dt, "' is not supported (supported: F32, F16, BF16, I32, I64, U8)");
    uint64_t numel = 1;
    for (auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) fail(where, ": shape has a non-integer or negative dimension");
      uint64_t x = d.get<uint64_t>();
      if (x != 0 && numel > std::numeric_limits<uint64_t>::max() / x / 8)
        fail(where, ": shape is too large");
      numel *= x;
      e.shape.push_back(int64_t(x));
    }
    for (auto& o : v["data_offsets"])
      if (!o.is_number_unsigned()) fail(where, ": data_offsets are not non-negative integers");
    e.begin = v["data_offsets"][0].get<uint64_t>();
    e.end = v["data_offsets"][1].get<uint64_t>();
    if (e.begin > e.end) fail(where, ": data_offsets [", e.begin, ", ", e.end, "] are reversed");
    if (e.end > data_size)
      fail(where, ": data_offsets [", e.begin, ", ", e.end, "] point past the end of the data (",
           data_size, " bytes): the file is truncated or corrupt");
    const uint64_t want = numel * dtype_size(e.dtype);
    if (e.end - e.begin != want)
      fail(where, ": has ", e.end - e.begin, " bytes of data, but shape ", shape_str(e.shape),
           " of ", dt, " needs ", want);
    entries_.push_back(std::move(e));
  }
  std::vector<const SafetensorsEntry*> by_offset;
  for (auto& e : entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](auto* a, auto* b) { return a->begin < b->begin || (a->begin == b->begin && a->end < b->end); });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const auto *a = by_offset[i - 1], *b = by_offset[i];
    if (b->begin < a->end)
      fail(path, ": tensors '", a->name, "' [", a->begin, ", ", a->end, ") and '", b->name, "' [",
           b->begin, ", ", b->end, ") overlap");
  }
  for (size_t i = 0; i < entries_.size(); ++i) index_[entries_[i].name] = i;
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Tensor SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsEntry* e = find(name);
  if (!e) fail(path(), ": no tensor named '", name, "'");
  void* p = const_cast<unsigned char*>(data_ + e->begin);
  return Tensor::borrow(p, e->shape, e->dtype, Device::cpu(), file_);
}

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t off = 0;
  for (auto& [name, t] : tensors) {
    if (!t.device().is_cpu() || !t.is_contiguous())
      fail("write_safetensors: tensor '", name, "' must be a contiguous CPU tensor");
    header[name] = {{"dtype", std::string(dtype_name(t.dtype()))},
                    {"shape", t.shape()},
                    {"data_offsets", {off, off + t.nbytes()}}};
    off += t.nbytes();
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  const std::string tmp = path + ".tmp";
  {
    std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
    if (!os) fail(tmp, ": cannot create");
    unsigned char len[8];
    uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) len[i] = (unsigned char)(n >> (8 * i));
    os.write(reinterpret_cast<const char*>(len), 8);
    os.write(h.data(), std::streamsize(h.size()));
    for (auto& [name, t] : tensors) os.write(static_cast<const char*>(t.raw()), std::streamsize(t.nbytes()));
    os.flush();
    if (!os) {
      std::remove(tmp.c_str());
      fail(tmp, ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(path, ": cannot rename ", tmp, " into place");
  }
}

}  // namespace mf
