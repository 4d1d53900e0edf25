// Result<T>: a value or an Error. tl::expected has the API of C++23 std::expected, so the alias
// can switch once the toolchain has <expected> in C++20 mode.
#pragma once

#include <tl/expected.hpp>

#include "base/error.h"

namespace isoexec {

template <class T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

inline tl::unexpected<Error> Fail(Error e) { return tl::unexpected<Error>(std::move(e)); }
inline Status Ok() { return {}; }

}  // namespace isoexec

#define ISOEXEC_CONCAT_INNER(a, b) a##b
#define ISOEXEC_CONCAT(a, b) ISOEXEC_CONCAT_INNER(a, b)

// Returns the error of `expr` (a Result) from the enclosing function.
#define ISOEXEC_TRY(expr)                                                   \
  do {                                                                      \
    if (auto isoexec_r_ = (expr); !isoexec_r_)                              \
      return ::tl::unexpected<::isoexec::Error>(std::move(isoexec_r_.error())); \
  } while (0)

// ISOEXEC_ASSIGN_OR_RETURN(auto x, Compute()); declares/assigns x or returns the error.
#define ISOEXEC_ASSIGN_OR_RETURN(lhs, expr)                                          \
  auto ISOEXEC_CONCAT(isoexec_r_, __LINE__) = (expr);                                \
  if (!ISOEXEC_CONCAT(isoexec_r_, __LINE__))                                         \
    return ::tl::unexpected<::isoexec::Error>(                                       \
        std::move(ISOEXEC_CONCAT(isoexec_r_, __LINE__).error()));                    \
  lhs = std::move(*ISOEXEC_CONCAT(isoexec_r_, __LINE__))
