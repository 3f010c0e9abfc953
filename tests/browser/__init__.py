"""Tests of the browser service (browser/) and the browser feature, mostly with real Chromium."""
