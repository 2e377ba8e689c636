#!/bin/sh
echo "serving $1"
