# Every tests/integration/*.sh is one CTest test. Each gets the synoverlay binary, the
# source folder and a scratch folder; exit 77 means "skipped" (the script says why).
file(GLOB SYNOVERLAY_INTEGRATION_TESTS CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/tests/integration/*.sh)
foreach(script IN LISTS SYNOVERLAY_INTEGRATION_TESTS)
  get_filename_component(name ${script} NAME_WE)
  add_test(NAME ${name}
           COMMAND bash ${script} $<TARGET_FILE:synoverlay> ${CMAKE_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR}/scratch/${name})
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900)
endforeach()
add_test(NAME provision_script
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/provision_test.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(provision_script PROPERTIES TIMEOUT 300)
