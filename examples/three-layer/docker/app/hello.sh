#!/bin/sh
# The application: edit this file and only the app layer rebuilds.
cat /etc/strata-base /etc/strata-tooling
echo "hello from the strata example app"
