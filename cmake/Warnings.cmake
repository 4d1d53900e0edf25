# Project-wide warnings (errors) for our own targets; third-party headers come in as SYSTEM.
add_library(isoexec_warnings INTERFACE)
target_compile_options(isoexec_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wimplicit-fallthrough -Wformat=2
  -Wno-missing-field-initializers
  # GCC 12 at -O2 reports impossible memcpy overlaps inside std::string (GCC bug 105329).
  -Wno-restrict)

# Each folder is one library; target_link_libraries expresses the allowed dependency
# direction: base <- spec, sys <- isolation, cgroup <- runtime <- cli / executor.
function(isoexec_library name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc
       ${CMAKE_CURRENT_SOURCE_DIR}/*/*.cc)
  if(NOT _srcs)  # a folder still being written: header-only for now
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(${name} STATIC ${_srcs})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE isoexec_warnings)
endfunction()
