#include "hyper/util/heap_optional.h"

#include <gtest/gtest.h>

#include <string>

namespace hyper {
namespace {

TEST(HeapOptional, BehavesLikeAnOptional) {
  HeapOptional<std::string> empty;
  EXPECT_FALSE(empty.has_value());
  EXPECT_FALSE(empty);
  EXPECT_THROW((void)empty.value(), std::bad_optional_access);

  HeapOptional<std::string> a = std::string("mount");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, "mount");
  EXPECT_EQ(a->size(), 5u);

  // Copies are deep: changing one leaves the other.
  HeapOptional<std::string> b = a;
  EXPECT_EQ(a, b);
  *b = "other";
  EXPECT_EQ(*a, "mount");
  EXPECT_NE(a, b);

  // Moves take the value; nullopt and reset empty it.
  HeapOptional<std::string> c = std::move(b);
  EXPECT_EQ(*c, "other");
  c = std::nullopt;
  EXPECT_FALSE(c);
  c.emplace(3, 'x');
  EXPECT_EQ(c.value(), "xxx");
  c.reset();
  EXPECT_EQ(c, empty);
  a = HeapOptional<std::string>(std::string("again"));
  EXPECT_EQ(*a, "again");
}

}  // namespace
}  // namespace hyper
