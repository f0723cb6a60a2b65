"""Build-time tools of the havip repository; not part of the wheel."""
