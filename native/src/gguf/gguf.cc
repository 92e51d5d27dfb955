#include "gguf/gguf.h"

#include <cstring>

#include "common/error.h"

namespace gb {
namespace {

constexpr uint64_t kMaxStringBytes = 1ull << 24;  // 16 MiB: far above any real key or template

// A cursor over the image that never reads past its end.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, const char* what) {
    if (n > remaining())
      fail("GGUF: file truncated while reading %s at offset %zu (needs %llu bytes, %zu left)", what, pos_,
           static_cast<unsigned long long>(n), remaining());
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const char* what) {
    uint64_t len = read<uint64_t>(what);
    if (len > kMaxStringBytes)
      fail("GGUF: %s at offset %zu has an absurd length %llu", what, pos_ - 8, static_cast<unsigned long long>(len));
    need(len, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }
  void skip(uint64_t n, const char* what) {
    need(n, what);
    pos_ += static_cast<size_t>(n);
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

size_t scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::BOOL: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    default: return 0;
  }
}

// Smallest number of bytes one element of this type can occupy (for count sanity checks).
size_t min_size(GgufValueType t) {
  if (t == GgufValueType::STRING) return 8;
  if (t == GgufValueType::ARRAY) return 12;
  return scalar_size(t);
}

bool valid_type(uint32_t t) { return t <= 12; }

void read_scalar(Reader& r, GgufValueType t, GgufValue& v, const std::string& key) {
  const char* what = key.c_str();
  switch (t) {
    case GgufValueType::U8: v.i = r.read<uint8_t>(what); break;
    case GgufValueType::I8: v.i = r.read<int8_t>(what); break;
    case GgufValueType::U16: v.i = r.read<uint16_t>(what); break;
    case GgufValueType::I16: v.i = r.read<int16_t>(what); break;
    case GgufValueType::U32: v.i = r.read<uint32_t>(what); break;
    case GgufValueType::I32: v.i = r.read<int32_t>(what); break;
    case GgufValueType::BOOL: {
      uint8_t b = r.read<uint8_t>(what);
      if (b > 1) fail("GGUF: key '%s' has an invalid bool byte %u", what, b);
      v.i = b;
      break;
    }
    case GgufValueType::U64: v.u = r.read<uint64_t>(what); v.i = static_cast<int64_t>(v.u); break;
    case GgufValueType::I64: v.i = r.read<int64_t>(what); break;
    case GgufValueType::F32: v.f = r.read<float>(what); break;
    case GgufValueType::F64: v.f = r.read<double>(what); break;
    default: fail("GGUF: key '%s': not a scalar type", what);
  }
  if (t != GgufValueType::F32 && t != GgufValueType::F64) {
    v.f = (t == GgufValueType::U64) ? static_cast<double>(v.u) : static_cast<double>(v.i);
    if (t != GgufValueType::U64) v.u = static_cast<uint64_t>(v.i);
  }
}

// Walks (and validates) an array's elements without materializing strings.
void skip_array(Reader& r, GgufValueType elem, uint64_t count, const std::string& key, int depth) {
  if (depth > 2) fail("GGUF: key '%s' nests arrays too deeply", key.c_str());
  if (count > r.remaining() / (min_size(elem) ? min_size(elem) : 1))
    fail("GGUF: key '%s' claims %llu array elements but only %zu bytes remain", key.c_str(),
         static_cast<unsigned long long>(count), r.remaining());
  if (elem == GgufValueType::STRING) {
    for (uint64_t k = 0; k < count; k++) {
      uint64_t len = r.read<uint64_t>(key.c_str());
      if (len > kMaxStringBytes)
        fail("GGUF: key '%s' element %llu has an absurd string length %llu", key.c_str(),
             static_cast<unsigned long long>(k), static_cast<unsigned long long>(len));
      r.skip(len, key.c_str());
    }
  } else if (elem == GgufValueType::ARRAY) {
    for (uint64_t k = 0; k < count; k++) {
      uint32_t t = r.read<uint32_t>(key.c_str());
      if (!valid_type(t)) fail("GGUF: key '%s' has a nested array of unknown type %u", key.c_str(), t);
      uint64_t n = r.read<uint64_t>(key.c_str());
      skip_array(r, static_cast<GgufValueType>(t), n, key, depth + 1);
    }
  } else {
    r.skip(count * scalar_size(elem), key.c_str());
  }
}

}  // namespace

GgufFile::GgufFile(const uint8_t* image, size_t size) : image_(image), size_(size) {
  Reader r(image, size);
  uint32_t magic = r.read<uint32_t>("magic");
  if (magic != 0x46554747u) fail("GGUF: bad magic 0x%08x (not a GGUF file)", magic);
  version_ = r.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3)
    fail("GGUF: unsupported version %u (gearbox reads versions 2 and 3)", version_);
  uint64_t n_tensors = r.read<uint64_t>("tensor count");
  uint64_t n_kv = r.read<uint64_t>("metadata count");
  if (n_kv > r.remaining() / 13) fail("GGUF: metadata count %llu is impossible for the file size", static_cast<unsigned long long>(n_kv));
  if (n_tensors > r.remaining() / 24)
    fail("GGUF: tensor count %llu is impossible for the file size", static_cast<unsigned long long>(n_tensors));

  for (uint64_t k = 0; k < n_kv; k++) {
    std::string key = r.read_string("metadata key");
    if (key.empty()) fail("GGUF: metadata entry %llu has an empty key", static_cast<unsigned long long>(k));
    uint32_t t = r.read<uint32_t>(key.c_str());
    if (!valid_type(t)) fail("GGUF: key '%s' has unknown value type %u", key.c_str(), t);
    GgufValue v;
    v.type = static_cast<GgufValueType>(t);
    if (v.type == GgufValueType::STRING) {
      v.str = r.read_string(key.c_str());
    } else if (v.type == GgufValueType::ARRAY) {
      uint32_t et = r.read<uint32_t>(key.c_str());
      if (!valid_type(et)) fail("GGUF: key '%s' is an array of unknown type %u", key.c_str(), et);
      v.elem_type = static_cast<GgufValueType>(et);
      v.count = r.read<uint64_t>(key.c_str());
      v.data_offset = r.pos();
      size_t es = scalar_size(v.elem_type);
      if (es && v.count <= 65536 && v.count * es <= r.remaining()) {
        for (uint64_t j = 0; j < v.count; j++) {
          GgufValue e;
          read_scalar(r, v.elem_type, e, key);
          v.numbers.push_back(e.f);
        }
      } else {
        skip_array(r, v.elem_type, v.count, key, 0);
      }
    } else {
      read_scalar(r, v.type, v, key);
    }
    if (kv_.count(key)) fail("GGUF: duplicate metadata key '%s'", key.c_str());
    kv_.emplace(std::move(key), std::move(v));
  }

  if (const GgufValue* a = find("general.alignment")) {
    if (a->type != GgufValueType::U32 || a->i == 0 || (a->i & (a->i - 1)) != 0 || a->i > 65536)
      fail("GGUF: general.alignment must be a power of two u32, got %lld", static_cast<long long>(a->i));
    alignment_ = static_cast<size_t>(a->i);
  }

  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t k = 0; k < n_tensors; k++) {
    GgufTensorInfo ti;
    ti.name = r.read_string("tensor name");
    const char* nm = ti.name.c_str();
    ti.n_dims = r.read<uint32_t>(nm);
    if (ti.n_dims == 0 || ti.n_dims > 4) fail("GGUF: tensor '%s' has %u dimensions (1..4 allowed)", nm, ti.n_dims);
    unsigned __int128 n = 1;
    for (uint32_t d = 0; d < ti.n_dims; d++) {
      ti.ne[d] = r.read<uint64_t>(nm);
      if (ti.ne[d] == 0) fail("GGUF: tensor '%s' dimension %u is zero", nm, d);
      n *= ti.ne[d];
      if (n > (static_cast<unsigned __int128>(1) << 48)) fail("GGUF: tensor '%s' has an absurd element count", nm);
    }
    ti.n_elements = static_cast<uint64_t>(n);
    uint32_t type = r.read<uint32_t>(nm);
    GgmlTypeInfo info = ggml_type_info(type);
    if (!info.name) fail("GGUF: tensor '%s' has unknown ggml type id %u", nm, type);
    ti.type = static_cast<GgmlType>(type);
    if (ti.ne[0] % info.block != 0)
      fail("GGUF: tensor '%s' row length %llu is not a multiple of the %s block size %u", nm,
           static_cast<unsigned long long>(ti.ne[0]), info.name, info.block);
    ti.n_bytes = ti.n_elements / info.block * info.bytes;
    ti.offset = r.read<uint64_t>(nm);
    if (tensor_index_.count(ti.name)) fail("GGUF: duplicate tensor name '%s'", nm);
    tensor_index_[ti.name] = tensors_.size();
    tensors_.push_back(std::move(ti));
  }

  data_offset_ = (r.pos() + alignment_ - 1) / alignment_ * alignment_;
  if (data_offset_ > size_ && !tensors_.empty()) fail("GGUF: file truncated before the tensor data section");
  for (GgufTensorInfo& ti : tensors_) {
    if (ti.offset % alignment_ != 0)
      fail("GGUF: tensor '%s' offset %llu is not aligned to %zu", ti.name.c_str(),
           static_cast<unsigned long long>(ti.offset), alignment_);
    uint64_t start = static_cast<uint64_t>(data_offset_) + ti.offset;
    if (ti.offset > size_ || start > size_ || ti.n_bytes > size_ - start)
      fail("GGUF: tensor '%s' data [offset %llu, %llu bytes] runs past the end of the file (size %zu)",
           ti.name.c_str(), static_cast<unsigned long long>(start), static_cast<unsigned long long>(ti.n_bytes), size_);
    ti.data = image_ + start;
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

static bool is_integer(GgufValueType t) {
  return t == GgufValueType::U8 || t == GgufValueType::I8 || t == GgufValueType::U16 || t == GgufValueType::I16 ||
         t == GgufValueType::U32 || t == GgufValueType::I32 || t == GgufValueType::U64 || t == GgufValueType::I64;
}

uint64_t GgufFile::get_uint(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) fail("GGUF: required key '%s' is missing", key.c_str());
  if (!is_integer(v->type)) fail("GGUF: key '%s' must be an integer", key.c_str());
  if (v->type != GgufValueType::U64 && v->i < 0) fail("GGUF: key '%s' must not be negative", key.c_str());
  return v->u;
}

uint64_t GgufFile::get_uint_or(const std::string& key, uint64_t fallback) const {
  return has(key) ? get_uint(key) : fallback;
}

double GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) fail("GGUF: required key '%s' is missing", key.c_str());
  if (v->type != GgufValueType::F32 && v->type != GgufValueType::F64 && !is_integer(v->type))
    fail("GGUF: key '%s' must be a number", key.c_str());
  return v->f;
}

double GgufFile::get_float_or(const std::string& key, double fallback) const {
  return has(key) ? get_float(key) : fallback;
}

std::string GgufFile::get_string_or(const std::string& key, const std::string& fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  if (v->type != GgufValueType::STRING) fail("GGUF: key '%s' must be a string", key.c_str());
  return v->str;
}

const GgufTensorInfo* GgufFile::tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace gb
