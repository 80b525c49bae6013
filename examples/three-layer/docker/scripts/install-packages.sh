#!/bin/sh
# Base layer setup. Offline on purpose: the example must build without network access.
set -e
mkdir -p /etc /tmp /var/log /usr/local/bin
echo "strata example base" > /etc/strata-base
