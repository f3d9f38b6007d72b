#!/usr/bin/env bash
# The contract tests' npm tools: the official @asyncapi/parser, openapi-typescript and TypeScript
# (tests/contract/package-lock.json).
exec bash "$(dirname "$0")/npm-ci.sh" tests/contract "contract tools (tests/contract)"
