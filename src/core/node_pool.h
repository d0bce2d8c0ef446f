#pragma once
// An allocator for node containers (std::unordered_map) that recycles blocks of one size: a
// container's nodes come from chunks and go back to a free list, so inserting costs a pop
// rather than a call to malloc. Anything else the container asks for (bucket arrays, nodes of
// another size) goes to operator new.
//
// The NodePool is shared by every copy and rebind of the allocator and must outlive the
// container (declare it first). Memory goes back to the system with the pool. Single-threaded.
// Cost: O(1) per node; a chunk of kChunk nodes is allocated when the free list is empty and
// the last chunk is used up.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <vector>

namespace homeline::core {

class NodePool {
 public:
  static constexpr std::size_t kChunk = 1024;

  void* Take(std::size_t size, std::size_t align) {
    if (size_ == 0) {
      size_ = std::max(size, sizeof(FreeNode));
      align_ = std::max(align, alignof(FreeNode));
      size_ = (size_ + align_ - 1) / align_ * align_;
    }
    if (size > size_ || align > align_) return nullptr;
    if (free_ != nullptr) {
      FreeNode* n = free_;
      free_ = n->next;
      return n;
    }
    if (next_ == end_) Grow();
    std::byte* p = next_;
    next_ += size_;
    return p;
  }
  // p came from Take with the same size.
  void Give(void* p) { free_ = new (p) FreeNode{free_}; }
  bool Serves(std::size_t size, std::size_t align) const {
    return size_ == 0 || (size <= size_ && align <= align_);
  }

 private:
  struct FreeNode {
    FreeNode* next;
  };
  struct FreeChunk {
    std::size_t align;
    void operator()(std::byte* p) const { ::operator delete(p, std::align_val_t{align}); }
  };
  // A chunk is carved on demand (next_ to end_), not threaded onto the free list here: that
  // wrote a link into every node of it at once (a quarter of a megabyte of the interaction
  // records, through the cache and, on fresh memory, a page fault every 16 nodes, all in one
  // command), and each node's line was missed again when it was used.
  void Grow() {
    auto* p = static_cast<std::byte*>(::operator new(size_ * kChunk, std::align_val_t{align_}));
    chunks_.emplace_back(p, FreeChunk{align_});
    next_ = p;
    end_ = p + size_ * kChunk;
  }

  std::size_t size_ = 0;  // of the blocks served, fixed by the first request
  std::size_t align_ = 0;
  FreeNode* free_ = nullptr;  // given back, taken first (most recently freed first)
  std::byte* next_ = nullptr;  // the newest chunk's part never handed out
  std::byte* end_ = nullptr;
  std::vector<std::unique_ptr<std::byte, FreeChunk>> chunks_;
};

template <typename T>
class NodePoolAllocator {
 public:
  using value_type = T;
  explicit NodePoolAllocator(NodePool* pool) : pool_(pool) {}
  template <typename U>
  NodePoolAllocator(const NodePoolAllocator<U>& o) : pool_(o.pool()) {}  // NOLINT: rebind

  T* allocate(std::size_t n) {
    if (n == 1) {
      if (void* p = pool_->Take(sizeof(T), alignof(T))) return static_cast<T*>(p);
    }
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) {
    if (n == 1 && pool_->Serves(sizeof(T), alignof(T))) {
      pool_->Give(p);
      return;
    }
    std::allocator<T>().deallocate(p, n);
  }
  NodePool* pool() const { return pool_; }
  template <typename U>
  bool operator==(const NodePoolAllocator<U>& o) const { return pool_ == o.pool(); }

 private:
  NodePool* pool_;
};

}  // namespace homeline::core
