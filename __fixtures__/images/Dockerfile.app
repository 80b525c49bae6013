ARG TOOLING_IMAGE
FROM ${TOOLING_IMAGE}
COPY app.txt /app/app.txt
# Fails unless the parent really is the tooling image.
RUN test -f /etc/tooling.all && cat /etc/tooling.all /app/app.txt > /app/ok
