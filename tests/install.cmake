# install_test builds isoflow a second time (Release, no sanitizers).
set(ISOFLOW_TIMEOUT_install_test 300)
