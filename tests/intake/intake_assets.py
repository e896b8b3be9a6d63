"""Email bodies for launch tests: one that passes pre-flight offline with the example workspace,
one with blockers (no unsubscribe link, no postal address, a link without UTMs)."""

GOOD_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>November update</title></head>
<body>
<div class="preheader" style="display:none">Three new reports.</div>
<p>Hi {{ first_name | default: "there" }},</p>
<p><a href="https://www.acme.example/reports?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=2026-11_retention_smb">See the new reports</a></p>
<p>Acme Analytics, Inc., 100 Main Street, Suite 400, Springfield, IL 62701<br>
<a href="{{unsubscribe_url}}">Unsubscribe</a></p>
</body></html>
"""

BAD_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Oops</title></head>
<body><p>Hi {{ first_name }}, <a href="https://www.acme.example/reports">read this</a></p></body>
</html>
"""
