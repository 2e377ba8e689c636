#!/bin/sh
echo "hello from api @VERSION@"
