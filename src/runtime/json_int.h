// Integers out of JSON without undefined behaviour: nlohmann's value<T>()/get<T>() convert a
// float (1e300) or an out-of-range integer with a plain cast. Anything but an integer within
// T's range throws std::out_of_range naming the key.
#pragma once

#include <limits>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace isoexec::runtime {

template <typename T>
T IntFrom(const nlohmann::json& v, const char* key) {
  if (v.is_number_unsigned() && std::in_range<T>(v.get<uint64_t>()))
    return static_cast<T>(v.get<uint64_t>());
  if (v.is_number_integer() && !v.is_number_unsigned() && std::in_range<T>(v.get<int64_t>()))
    return static_cast<T>(v.get<int64_t>());
  throw std::out_of_range(fmt::format("{}: expected an integer from {} to {}, got {}", key,
                                      std::numeric_limits<T>::min(),
                                      std::numeric_limits<T>::max(), v.dump()));
}

template <typename T>
T IntValue(const nlohmann::json& j, const char* key, T def) {
  auto it = j.find(key);
  return it == j.end() ? def : IntFrom<T>(*it, key);
}

}  // namespace isoexec::runtime
