#!/bin/sh
# Greets whoever is named on the command line.
name="${1:-world}"
echo "hello, $name"
