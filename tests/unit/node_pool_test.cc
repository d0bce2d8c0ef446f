// NodePool hands out distinct, aligned blocks across chunks, takes given-back blocks first
// (most recently given first), and serves std::unordered_map through NodePoolAllocator.

#include "core/node_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace homeline::core {
namespace {

TEST(NodePool, DistinctAlignedBlocksAcrossChunksThenGivenBackFirst) {
  NodePool pool;
  constexpr std::size_t kSize = 40, kAlign = 16;
  std::vector<void*> taken;
  std::set<std::uintptr_t> seen;
  for (std::size_t i = 0; i < 3 * NodePool::kChunk + 5; ++i) {
    void* p = pool.Take(kSize, kAlign);
    ASSERT_NE(p, nullptr);
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    EXPECT_EQ(a % kAlign, 0u);
    // No block overlaps another: every block starts at least a (rounded) size from the others.
    auto next = seen.lower_bound(a);
    if (next != seen.end()) {
      EXPECT_GE(*next - a, 48u);
    }
    if (next != seen.begin()) {
      EXPECT_GE(a - *std::prev(next), 48u);
    }
    seen.insert(a);
    taken.push_back(p);
  }
  // Within a chunk, blocks come in address order.
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(taken[1]) - reinterpret_cast<std::uintptr_t>(taken[0]), 48u);
  pool.Give(taken[7]);
  pool.Give(taken[2000]);
  EXPECT_EQ(pool.Take(kSize, kAlign), taken[2000]);
  EXPECT_EQ(pool.Take(kSize, kAlign), taken[7]);
  void* fresh = pool.Take(kSize, kAlign);
  EXPECT_EQ(seen.count(reinterpret_cast<std::uintptr_t>(fresh)), 0u);  // the chunk goes on
  EXPECT_EQ(pool.Take(kSize + 64, kAlign), nullptr);  // a larger block is not the pool's
  EXPECT_FALSE(pool.Serves(kSize + 64, kAlign));
  EXPECT_TRUE(pool.Serves(kSize, kAlign));
}

TEST(NodePool, ServesAnUnorderedMapThroughInsertsAndErases) {
  NodePool pool;
  using Map = std::unordered_map<std::uint64_t, std::string, std::hash<std::uint64_t>,
                                 std::equal_to<>,
                                 NodePoolAllocator<std::pair<const std::uint64_t, std::string>>>;
  Map m(16, std::hash<std::uint64_t>{}, std::equal_to<>{},
        NodePoolAllocator<std::pair<const std::uint64_t, std::string>>(&pool));
  for (std::uint64_t i = 0; i < 5000; ++i) m.emplace(i, "value " + std::to_string(i));
  for (std::uint64_t i = 0; i < 5000; i += 2) m.erase(i);
  for (std::uint64_t i = 5000; i < 7000; ++i) m.emplace(i, "value " + std::to_string(i));
  ASSERT_EQ(m.size(), 4500u);
  for (std::uint64_t i = 1; i < 5000; i += 2) EXPECT_EQ(m.at(i), "value " + std::to_string(i));
  for (std::uint64_t i = 5000; i < 7000; ++i) EXPECT_EQ(m.at(i), "value " + std::to_string(i));
}

}  // namespace
}  // namespace homeline::core
