# isoexec(1) and the bash completion.
#
# The man page is generated at build time by the freshly built binary (`isoexec __man`, which
# walks the CLI11 option definitions), so it cannot drift from the command line. Usage, after
# add_executable(isoexec ...) and include(GNUInstallDirs):
#
#   include(${PROJECT_SOURCE_DIR}/cmake/ManPage.cmake)
#   isoexec_man_page(isoexec)
#
# Builds <binary dir>/isoexec.1 (target isoexec_man, part of ALL) and installs it to
# ${CMAKE_INSTALL_MANDIR}/man1, and contrib/bash-completion/isoexec to
# ${CMAKE_INSTALL_DATADIR}/bash-completion/completions. Set SOURCE_DATE_EPOCH for a
# reproducible date line.
include_guard(GLOBAL)

function(isoexec_man_page target)
  set(_man ${CMAKE_CURRENT_BINARY_DIR}/${target}.1)
  # DEPENDS on the executable target: regenerated whenever the binary is relinked.
  add_custom_command(
    OUTPUT ${_man}
    COMMAND $<TARGET_FILE:${target}> __man --output ${_man}
    DEPENDS ${target}
    COMMENT "Generating ${target}(1) from the command-line definitions"
    VERBATIM)
  add_custom_target(${target}_man ALL DEPENDS ${_man})
  install(FILES ${_man} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${PROJECT_SOURCE_DIR}/contrib/bash-completion/isoexec
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
endfunction()
