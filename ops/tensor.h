// Tensor: a typed, shaped, strided view of memory on one device. Storage is shared
// (copying a Tensor copies a handle); memory is owned (allocated here) or borrowed with a
// keep-alive handle (e.g. a read-only mmap of a safetensors file).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "ops/device.h"
#include "ops/dtype.h"

namespace mf {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[2, 64]"

class Storage {
 public:
  static std::shared_ptr<Storage> allocate(size_t bytes, Device d);
  static std::shared_ptr<Storage> borrow(void* p, size_t bytes, Device d,
                                         std::shared_ptr<const void> keepalive);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  Storage() = default;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  bool owned_ = false;
  std::shared_ptr<const void> keepalive_;
};

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(Shape shape, DType dtype, Device device = Device::cpu());
  static Tensor zeros(Shape shape, DType dtype, Device device = Device::cpu());
  // A view of memory owned elsewhere (contiguous); `keepalive` is held as long as the view.
  static Tensor borrow(void* data, Shape shape, DType dtype, Device device,
                       std::shared_ptr<const void> keepalive);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }  // in elements
  int ndim() const { return int(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(size_t(i < 0 ? i + ndim() : i)); }
  int64_t numel() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;

  void* raw() const;
  template <class T> T* data() const { return static_cast<T*>(raw()); }

  // Copies to another device (same dtype, contiguous result).
  Tensor to(Device d) const;
  // Copies to a floating dtype (CPU tensors; contiguous result).
  Tensor to(DType t) const;
  Tensor clone() const { return to(device()); }
  // Same storage, new contiguous shape with the same number of elements.
  Tensor reshape(Shape shape) const;
  // Rows [begin, end) of the first dimension (a view).
  Tensor rows(int64_t begin, int64_t end) const;

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;  // bytes
  DType dtype_ = DType::F32;
  Shape shape_, strides_;
};

}  // namespace mf
