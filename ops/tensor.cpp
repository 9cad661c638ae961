#include "ops/tensor.h"

#include <cstdlib>
#include <cstring>
#include <numeric>

#include "ops/cuda_runtime.h"
#include "ops/error.h"

namespace mf {

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

static Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) { st[i] = acc; acc *= shape[i]; }
  return st;
}

std::shared_ptr<Storage> Storage::allocate(size_t bytes, Device d) {
  std::shared_ptr<Storage> s(new Storage);
  s->bytes_ = bytes;
  s->device_ = d;
  s->owned_ = true;
  if (d.is_cpu()) {
    s->ptr_ = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!s->ptr_) fail("out of host memory allocating ", bytes, " bytes");
  } else {
    s->ptr_ = cuda::malloc_device(bytes, d.index);
  }
  return s;
}

std::shared_ptr<Storage> Storage::borrow(void* p, size_t bytes, Device d,
                                         std::shared_ptr<const void> keepalive) {
  std::shared_ptr<Storage> s(new Storage);
  s->ptr_ = p;
  s->bytes_ = bytes;
  s->device_ = d;
  s->keepalive_ = std::move(keepalive);
  return s;
}

Storage::~Storage() {
  if (!owned_) return;
  if (device_.is_cpu()) std::free(ptr_);
  else cuda::free_device(ptr_, device_.index);
}

Tensor Tensor::empty(Shape shape, DType dtype, Device device) {
  Tensor t;
  for (int64_t d : shape)
    if (d < 0) fail("negative dimension in shape ", shape_str(shape));
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.strides_ = contiguous_strides(t.shape_);
  t.storage_ = Storage::allocate(t.nbytes(), device);
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  Tensor t = empty(std::move(shape), dtype, device);
  if (device.is_cpu()) std::memset(t.raw(), 0, t.nbytes());
  else cuda::memset_device(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::borrow(void* data, Shape shape, DType dtype, Device device,
                      std::shared_ptr<const void> keepalive) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.strides_ = contiguous_strides(t.shape_);
  t.storage_ = Storage::borrow(data, t.nbytes(), device, std::move(keepalive));
  return t;
}

int64_t Tensor::numel() const {
  return std::accumulate(shape_.begin(), shape_.end(), int64_t(1), std::multiplies<>());
}

bool Tensor::is_contiguous() const { return strides_ == contiguous_strides(shape_); }

void* Tensor::raw() const {
  return storage_ ? static_cast<char*>(storage_->data()) + offset_ : nullptr;
}

Tensor Tensor::to(Device d) const {
  if (!is_contiguous()) fail("Tensor::to(device) needs a contiguous tensor");
  Tensor out = empty(shape_, dtype_, d);
  copy_bytes(out.raw(), d, raw(), device(), nbytes());
  return out;
}

Tensor Tensor::to(DType t) const {
  if (!device().is_cpu()) fail("Tensor::to(dtype) runs on CPU tensors");
  if (!is_contiguous()) fail("Tensor::to(dtype) needs a contiguous tensor");
  Tensor out = empty(shape_, t, Device::cpu());
  if (t == dtype_) {
    std::memcpy(out.raw(), raw(), nbytes());
  } else if (t == DType::F32) {
    convert_to_f32(raw(), dtype_, out.data<float>(), size_t(numel()));
  } else if (dtype_ == DType::F32) {
    convert_from_f32(data<float>(), out.raw(), t, size_t(numel()));
  } else {
    Tensor f = to(DType::F32);
    convert_from_f32(f.data<float>(), out.raw(), t, size_t(numel()));
  }
  return out;
}

Tensor Tensor::reshape(Shape shape) const {
  if (!is_contiguous()) fail("reshape needs a contiguous tensor");
  int64_t n = std::accumulate(shape.begin(), shape.end(), int64_t(1), std::multiplies<>());
  if (n != numel()) fail("cannot reshape ", shape_str(shape_), " to ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.strides_ = contiguous_strides(t.shape_);
  return t;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  if (ndim() < 1 || begin < 0 || end < begin || end > shape_[0])
    fail("rows [", begin, ", ", end, ") out of range for shape ", shape_str(shape_));
  Tensor t = *this;
  t.offset_ += size_t(begin * strides_[0]) * dtype_size(dtype_);
  t.shape_[0] = end - begin;
  return t;
}

}  // namespace mf
