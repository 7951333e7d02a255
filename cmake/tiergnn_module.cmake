# tiergnn_module(NAME SOURCES ... DEPS ...): one library target per top-level module folder,
# with include paths starting at the repository root.
function(tiergnn_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(tiergnn_${name} STATIC ${M_SOURCES})
  add_library(tiergnn::${name} ALIAS tiergnn_${name})
  target_include_directories(tiergnn_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(tiergnn_${name} PUBLIC ${M_DEPS})
  set_target_properties(tiergnn_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
