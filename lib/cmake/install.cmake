# Install rules: headers, libraries, sse.pc, the CMake package, ssecat.
# Included from the top-level CMakeLists.txt when SSE_INSTALL is ON.
#
# Components: sse_Runtime (the shared library's versioned files, ssecat and
# its man page) and sse_Development (headers, libsse.a, the libsse.so link,
# sse.pc, the CMake package).

include(CMakePackageConfigHelpers)

# The headers carry the version too (sse_version() reports it); they must
# agree with project(), which versions the package files and the soname.
file(STRINGS "${PROJECT_SOURCE_DIR}/include/sse/common.h" _sse_hdr_version
     REGEX "^#define SSE_VERSION_STRING \"[^\"]*\"")
string(REGEX REPLACE ".*\"([^\"]*)\".*" "\\1" _sse_hdr_version "${_sse_hdr_version}")
if(NOT _sse_hdr_version STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "include/sse/common.h says version '${_sse_hdr_version}', "
                      "CMakeLists.txt says '${PROJECT_VERSION}'")
endif()

set(SSE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/sse"
    CACHE STRING "Where to install the CMake package files (relative to the prefix)")
mark_as_advanced(SSE_INSTALL_CMAKEDIR)

# Every public header: the whole include/ tree.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT sse_Development
        FILES_MATCHING PATTERN "*.h")

# One export set per kind, in its own file, so a shared-only and a
# static-only build can be installed into the same prefix.
foreach(target IN LISTS SSE_LIBRARY_TARGETS)
  get_target_property(_sse_type ${target} TYPE)
  if(_sse_type STREQUAL "SHARED_LIBRARY")
    set(_sse_kind shared)
  else()
    set(_sse_kind static)
  endif()
  install(TARGETS ${target} EXPORT sse-${_sse_kind}-targets
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT sse_Runtime
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT sse_Runtime
            NAMELINK_COMPONENT sse_Development
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT sse_Development
    INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(EXPORT sse-${_sse_kind}-targets
    NAMESPACE sse::
    DESTINATION "${SSE_INSTALL_CMAKEDIR}"
    COMPONENT sse_Development)
endforeach()

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/sse-config.cmake.in"
  "${PROJECT_BINARY_DIR}/sse-config.cmake"
  INSTALL_DESTINATION "${SSE_INSTALL_CMAKEDIR}"
  NO_SET_AND_CHECK_MACRO)
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/sse-config-version.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/sse-config.cmake"
              "${PROJECT_BINARY_DIR}/sse-config-version.cmake"
        DESTINATION "${SSE_INSTALL_CMAKEDIR}"
        COMPONENT sse_Development)

# sse.pc is written at install time, so that `cmake --install --prefix DIR`
# gets DIR in it. Directories given as absolute paths are used as they are.
set(SSE_PC_LIBS_PRIVATE "" CACHE STRING
    "Libs.private of sse.pc: what a static link of libsse needs besides libc")
mark_as_advanced(SSE_PC_LIBS_PRIVATE)
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(_sse_pc_${dir} "${CMAKE_INSTALL_${dir}}")
  elseif(dir STREQUAL "LIBDIR")
    set(_sse_pc_${dir} "\${exec_prefix}/${CMAKE_INSTALL_${dir}}")
  else()
    set(_sse_pc_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
install(CODE "
  set(PROJECT_VERSION [[${PROJECT_VERSION}]])
  set(PROJECT_DESCRIPTION [[${PROJECT_DESCRIPTION}]])
  set(SSE_PC_LIBDIR [[${_sse_pc_LIBDIR}]])
  set(SSE_PC_INCLUDEDIR [[${_sse_pc_INCLUDEDIR}]])
  set(SSE_PC_LIBS_PRIVATE [[${SSE_PC_LIBS_PRIVATE}]])
  set(SSE_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file([[${PROJECT_SOURCE_DIR}/sse.pc.in]] [[${PROJECT_BINARY_DIR}/sse.pc]] @ONLY)
" COMPONENT sse_Development)
install(FILES "${PROJECT_BINARY_DIR}/sse.pc"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
        COMPONENT sse_Development)

# ssecat, its man page, and a run path to the shared library when it uses it.
if(SSE_INSTALL_SSECAT AND TARGET ssecat)
  get_target_property(_sse_type sse TYPE)
  if(_sse_type STREQUAL "SHARED_LIBRARY" AND NOT WIN32)
    file(RELATIVE_PATH _sse_rel "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}")
    if(APPLE)
      set_target_properties(ssecat PROPERTIES INSTALL_RPATH "@loader_path/${_sse_rel}")
    else()
      set_target_properties(ssecat PROPERTIES INSTALL_RPATH "$ORIGIN/${_sse_rel}")
    endif()
  endif()
  file(STRINGS "${PROJECT_SOURCE_DIR}/examples/ssecat.1" _sse_th REGEX "^\\.TH ")
  if(NOT _sse_th MATCHES "\"libsse ${PROJECT_VERSION}\"")
    message(FATAL_ERROR "examples/ssecat.1: its .TH line should name \"libsse ${PROJECT_VERSION}\"")
  endif()
  install(TARGETS ssecat RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT sse_Runtime)
  install(FILES "${PROJECT_SOURCE_DIR}/examples/ssecat.1"
          DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT sse_Runtime)
endif()
