"""Mail: compose a packet's email from templates, send it over SMTP once, remember what went out."""
