# OpenWrt ImageBuilder stand-in (tests and demo only).
#
# Same interface as the real ImageBuilder's Makefile:
#
#   make info
#   make manifest PROFILE=<id> PACKAGES="<list>" [STRIP_ABI=1]
#   make image PROFILE=<id> PACKAGES="<list>" [FILES=<dir>] [BIN_DIR=<dir>]
#       [EXTRA_IMAGE_NAME=<name>] [ROOTFS_PARTSIZE=<MiB>] [DISABLED_SERVICES="<list>"]
#
# The work is done by staging_dir/host/bin/imagebuilder-standin. It reads the
# variables from its environment (exported below), so no value given on the
# command line is ever parsed by a shell. Each variable is first pinned to its
# literal text with $(value ...), so make does not expand "$(...)" inside a
# value either.
#
# Package feeds are the ones in repositories.conf; their indexes are bundled
# under staging_dir/standin/feeds/<name>/Packages ("file:" feeds are read
# from disk). "make image" prints "Downloading <feed>/Packages.gz" per feed and
# records the feed names in each image body ("repositories").
# Device flash limits are in staging_dir/standin/target.json.
#
# Test knob: selecting the package "standin-hang" (it is in the package
# index like any other package) makes "make image" sleep for
# STANDIN_HANG_SECONDS seconds (default 3600) before it builds, so a test can
# check the builder's time limit through the production code path.
# Likewise "standin-slow" makes "make image" sleep STANDIN_SLOW_SECONDS
# (default 8) and then build normally, so a test can kill a builder mid-build.

TOPDIR := $(CURDIR)
STANDIN := $(TOPDIR)/staging_dir/host/bin/imagebuilder-standin

override PROFILE := $(value PROFILE)
override PACKAGES := $(value PACKAGES)
override BIN_DIR := $(value BIN_DIR)
override FILES := $(value FILES)
override EXTRA_IMAGE_NAME := $(value EXTRA_IMAGE_NAME)
override ROOTFS_PARTSIZE := $(value ROOTFS_PARTSIZE)
override DISABLED_SERVICES := $(value DISABLED_SERVICES)
override STRIP_ABI := $(value STRIP_ABI)
override STANDIN_HANG_SECONDS := $(value STANDIN_HANG_SECONDS)
override STANDIN_SLOW_SECONDS := $(value STANDIN_SLOW_SECONDS)

export TOPDIR PROFILE PACKAGES BIN_DIR FILES EXTRA_IMAGE_NAME ROOTFS_PARTSIZE
export DISABLED_SERVICES STRIP_ABI STANDIN_HANG_SECONDS STANDIN_SLOW_SECONDS

.PHONY: help info manifest image clean

help:
	@echo 'Available Commands:'
	@echo '	help:	This help text'
	@echo '	info:	Show a list of available target profiles'
	@echo '	clean:	Remove images and temporary build files'
	@echo '	image:	Build an image (see below for more information).'
	@echo '	manifest:	Show the package list of an image without building it'
	@echo ''
	@echo 'Building images:'
	@echo '	make image PROFILE="<profilename>" PACKAGES="<packages>" FILES="<path>" BIN_DIR="<path>"'
	@echo '	           EXTRA_IMAGE_NAME="<string>" DISABLED_SERVICES="<svc1> [<svc2> ...]" ROOTFS_PARTSIZE="<size>"'

info:
	@"$(STANDIN)" info

manifest:
	@"$(STANDIN)" manifest

image:
	@"$(STANDIN)" image

clean:
	rm -rf "$(TOPDIR)/bin" "$(TOPDIR)/tmp"
