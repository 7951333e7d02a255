#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "tiering/budget.hpp"
#include "tiering/gpu_budget.hpp"

using namespace tg;

TEST(Budget, ParsesBytesAndShares) {
  EXPECT_EQ(parse_budget("1024", "--gpu-mem").bytes, 1024u);
  // A share written without its %, and fractional bytes, are refused, not read as a few bytes.
  EXPECT_THROW(parse_budget("100", "--host-mem"), input_error);
  EXPECT_THROW(parse_budget("10", "--host-mem"), input_error);
  EXPECT_THROW(parse_budget("0.5B", "--host-mem"), input_error);
  EXPECT_EQ(parse_budget("100B", "--host-mem").bytes, 100u);
  EXPECT_EQ(parse_budget("101", "--host-mem").bytes, 101u);
  EXPECT_EQ(parse_budget("512M", "--gpu-mem").bytes, 512ull << 20);
  EXPECT_EQ(parse_budget("24G", "--gpu-mem").bytes, 24ull << 30);
  EXPECT_EQ(parse_budget("1.5GiB", "--gpu-mem").bytes, 3ull << 29);
  EXPECT_EQ(parse_budget("10%", "--gpu-mem").resolve(1000), 100u);
  EXPECT_EQ(parse_budget("0.25", "--host-mem").resolve(1000), 250u);
  EXPECT_EQ(parse_budget("0", "--gpu-mem").resolve(1000), 0u);
  EXPECT_EQ(parse_budget("1.0", "--gpu-mem").resolve(1000), 1000u);
  EXPECT_EQ(parse_budget("1B", "--gpu-mem").bytes, 1u);
  // Whole byte counts exactly (through a double this one became 9223372036854774784), up to the
  // 2^63 - 1 that plan.json's reader accepts; beyond it refused, not written into an unreadable plan.
  EXPECT_EQ(parse_budget("9223372036854775295B", "--gpu-mem").bytes, 9223372036854775295ull);
  EXPECT_EQ(parse_budget("9223372036854775807", "--gpu-mem").bytes, 9223372036854775807ull);
  EXPECT_EQ(parse_budget("8388607T", "--gpu-mem").bytes, 8388607ull << 40);
  for (const char* big : {"9223372036854775808B", "18446744073709551616", "8388608T", "1e19", "9999999T", "8e18K"})
    try {
      parse_budget(big, "--gpu-mem");
      FAIL() << big;
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find("at most 2^63 - 1 bytes"), std::string::npos) << e.what();
    }
}

// A share that is a whole number of bytes grants exactly that many: 29% of 12,800 bytes is 3,712
// (0.29 x 12800 is 3711.9999... in doubles, and floor() had cost a row of 64 bytes), never one more.
TEST(Budget, AShareOfWholeBytesIsGrantedExactly) {
  EXPECT_EQ(parse_budget("29%", "--gpu-mem").resolve(12800), 3712u);
  EXPECT_EQ(parse_budget("57%", "--host-mem").resolve(12800), 7296u);
  EXPECT_EQ(parse_budget("57%", "--host-mem").resolve(5000 * 64), 182400u);
  EXPECT_EQ(parse_budget("0.29", "--gpu-mem").resolve(12800), 3712u);
  // Every p% of 100 * k bytes is exactly p * k: no share rounds down a byte, none rounds up.
  for (int p = 0; p <= 100; ++p)
    for (std::uint64_t k : {1ull, 7ull, 64ull, 12800ull, 1000003ull, 4294967311ull}) {
      ASSERT_EQ(parse_budget(std::to_string(p) + "%", "--gpu-mem").resolve(100 * k), static_cast<std::uint64_t>(p) * k)
          << p << "% of " << 100 * k;
    }
  // Not a whole number of bytes: rounded down as before.
  EXPECT_EQ(parse_budget("28.99999%", "--gpu-mem").resolve(12800), 3711u);
  EXPECT_EQ(parse_budget("33%", "--gpu-mem").resolve(1000), 330u);
  EXPECT_EQ(parse_budget("1%", "--gpu-mem").resolve(99), 0u);
}

// Only a 0x prefix is hexadecimal; a stray x after a share is an unknown unit.
TEST(BudgetBadInput, AStrayXIsAnUnknownUnitNotHexadecimal) {
  for (const char* text : {"50%x", "1.5x", "10x%"}) try {
      parse_budget(text, "--host-mem");
      FAIL() << text;
    } catch (const input_error& e) {
      EXPECT_EQ(std::string(e.what()).find("hexadecimal"), std::string::npos) << e.what();
    }
  for (const char* text : {"0x10", "0X10B", "-0x1"}) try {
      parse_budget(text, "--host-mem");
      FAIL() << text;
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find("hexadecimal"), std::string::npos) << e.what();
    }
}

TEST(BudgetBadInput, ErrorsNameTheOptionAndText) {
  for (const char* bad : {"-1G", "", "abc", "12X", "150%", "1.5", "1"}) {  // "1": one byte or all? refused
    try {
      parse_budget(bad, "--gpu-mem");
      FAIL() << bad;
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find("--gpu-mem '" + std::string(bad) + "'"), std::string::npos) << e.what();
    }
  }
  // Hexadecimal (strtod reads it: "0x10B" was 267 bytes; R11-F5), and the hint for "16" stays decimal.
  for (const char* hex : {"0x10B", "0x10%", "0x1p4%", "0X10"}) {
    try {
      parse_budget(hex, "--gpu-mem");
      FAIL() << hex;
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find("in decimal"), std::string::npos) << e.what();
    }
  }
}

TEST(GpuBudget, APlanThatDoesNotFitNamesTheNumbers) {
  EXPECT_NO_THROW(tg::check_gpu_fit(600, 400, 1000, "d"));
  try {
    tg::check_gpu_fit(3ull << 30, 1ull << 30, 2ull << 30, "out/papers");
    FAIL() << "no error";
  } catch (const tg::budget_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("out/papers"), std::string::npos) << m;
    EXPECT_NE(m.find("3.00 GiB"), std::string::npos) << m;
    EXPECT_NE(m.find("4.00 GiB"), std::string::npos) << m;
    EXPECT_NE(m.find("2.00 GiB free"), std::string::npos) << m;
    EXPECT_NE(m.find("2.00 GiB over"), std::string::npos) << m;
  }
}

// Shares in tier tables and predicted hit rates never round to the ends they do not reach.
TEST(PercentText, NeverRoundsToTheEndsItDoesNotReach) {
  EXPECT_EQ(percent_text(0.123), "12.3");
  EXPECT_EQ(percent_text(1999.0 / 2000.0), ">99.9");
  EXPECT_EQ(percent_text(1.0), "100.0");
  EXPECT_EQ(percent_text(0.0000610169), "<0.1");
  EXPECT_EQ(percent_text(0.0), "0.0");
}
