# API reference: `cmake --build build --target sse_docs` writes HTML to
# build/docs/html when Doxygen is found. The headers are the manual; their
# plain /* */ comments are turned into documentation comments on the fly by
# doxygen-filter.sed, so the headers need no Doxygen markup.
find_package(Doxygen QUIET)
if(DOXYGEN_FOUND)
  set(DOXYGEN_PROJECT_NAME libsse)
  set(DOXYGEN_PROJECT_NUMBER ${PROJECT_VERSION})
  set(DOXYGEN_PROJECT_BRIEF "${PROJECT_DESCRIPTION}")
  set(DOXYGEN_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/docs")
  set(DOXYGEN_OPTIMIZE_OUTPUT_FOR_C YES)
  set(DOXYGEN_EXTRACT_ALL YES)
  set(DOXYGEN_FULL_PATH_NAMES YES)
  set(DOXYGEN_STRIP_FROM_PATH "${PROJECT_SOURCE_DIR}/include")
  set(DOXYGEN_STRIP_FROM_INC_PATH "${PROJECT_SOURCE_DIR}/include")
  set(DOXYGEN_FILE_PATTERNS "*.h")
  set(DOXYGEN_RECURSIVE YES)
  set(DOXYGEN_ENABLE_PREPROCESSING YES)
  set(DOXYGEN_MACRO_EXPANSION YES)
  set(DOXYGEN_EXPAND_ONLY_PREDEF YES)
  set(DOXYGEN_PREDEFINED "SSE_API=")
  set(DOXYGEN_MARKDOWN_SUPPORT YES)
  set(DOXYGEN_GENERATE_LATEX NO)
  set(DOXYGEN_SORT_MEMBER_DOCS NO)
  set(DOXYGEN_INPUT_FILTER "sed -f ${CMAKE_CURRENT_LIST_DIR}/doxygen-filter.sed")
  doxygen_add_docs(sse_docs "${PROJECT_SOURCE_DIR}/include"
                   COMMENT "API reference (Doxygen) in ${PROJECT_BINARY_DIR}/docs/html")
endif()
