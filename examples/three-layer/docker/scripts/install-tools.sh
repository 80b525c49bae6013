#!/bin/sh
# Tooling layer setup: a "tool" made from busybox applets.
set -e
mkdir -p /usr/local/bin
printf '#!/bin/sh\necho "tool: $*"\n' > /usr/local/bin/tool
chmod +x /usr/local/bin/tool
echo "strata example tooling" > /etc/strata-tooling
