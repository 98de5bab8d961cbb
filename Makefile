# Build, test and install sieste. `make release` builds the shipped daemon in
# Embedded Swift mode; `swift build` and `swift test` build the same sources
# in standard mode.

PREFIX ?= /usr/local
SWIFT ?= swift
TOOLCHAIN := $(shell dirname $$(dirname $$(dirname $$(readlink -f $$(command -v $(SWIFT))))))
EMBEDDED_LIB := $(TOOLCHAIN)/usr/lib/swift/embedded/x86_64-unknown-linux-gnu
# Built for a small idle daemon:
# - one section per function, and --gc-sections drops the code nothing calls
#   (the shipped binary's code shrinks from about 950 KiB to 540 KiB);
# - --as-needed before -lm: CSieste defines the only math function the
#   embedded standard library calls (ceil), so libm is not loaded at all.
EMBEDDED_FLAGS := -Xswiftc -enable-experimental-feature -Xswiftc Embedded -Xswiftc -wmo -Xswiftc -Osize \
	-Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcc -fdata-sections \
	-Xlinker --gc-sections \
	-Xlinker --as-needed -Xlinker -lm -Xlinker -L$(EMBEDDED_LIB) -Xlinker -lswiftUnicodeDataTables

.PHONY: release debug run test test-deps install clean bench

release:
	$(SWIFT) build -c release --product sieste $(EMBEDDED_FLAGS)

debug:
	$(SWIFT) build

# Runs the embedded daemon in the foreground on the shipped configuration,
# creating the folder it includes when missing.
run: release
	install -d /etc/sieste/sieste.d
	./.build/release/sieste serve -c conf/sieste.conf

# Installs what the integration tests start (lighttpd, vsftpd, exim4,
# tftpd-hpa and the clients), builds the embedded daemon, then runs every
# test. SIESTE_BINARY tells the integration tests which daemon to start.
test: test-deps release
	SIESTE_BINARY=$(CURDIR)/.build/release/sieste $(SWIFT) test

test-deps:
	./scripts/install-test-deps

install: release
	install -D -m 0755 .build/release/sieste $(DESTDIR)$(PREFIX)/sbin/sieste
	install -d $(DESTDIR)/etc/sieste/sieste.d
	test -e $(DESTDIR)/etc/sieste/sieste.conf || install -m 0644 conf/sieste.conf $(DESTDIR)/etc/sieste/sieste.conf
	install -D -m 0644 docs/sieste.8 $(DESTDIR)$(PREFIX)/share/man/man8/sieste.8
	install -D -m 0644 conf/sieste.service $(DESTDIR)/etc/systemd/system/sieste.service

bench: release
	./bench/run

clean:
	rm -rf .build
