from imgsync.upstream import listing


def test_ubuntu_apache_listing_sample(sample):
    entries = listing.parse_entries(sample("ubuntu2404/index.html"))
    assert entries == ["20260307/", "20260321/", "20260323/", "20260518/", "20260615/",
                       "20260705/", "current/"]


def test_debian_listing_sample(sample):
    entries = listing.parse_entries(sample("debian13/index.html"))
    assert entries and all("/" not in e.rstrip("/") for e in entries)
    assert not any(e.startswith("?") for e in entries)


def test_nginx_autoindex():
    html = ('<html><head><title>Index of /x/</title></head><body><h1>Index of /x/</h1><hr><pre>'
            '<a href="../">../</a>\n'
            '<a href="release-20240423/">release-20240423/</a>   23-Apr-2024 10:00    -\n'
            '<a href="release-20240423.1/">release-20240423.1/</a>\n'
            '<a href="SHA256SUMS">SHA256SUMS</a>\n</pre><hr></body></html>')
    assert listing.parse_entries(html) == ["release-20240423/", "release-20240423.1/",
                                           "SHA256SUMS"]


def test_absolute_and_foreign_links_are_ignored():
    html = ('<a href="https://example.org/x/">x</a><a href="/icons/back.gif">b</a>'
            '<a href="./20240101/">d</a><a href="a/b/">deep</a><a href="%32%30%32%34/">q</a>')
    assert listing.parse_entries(html) == ["20240101/", "2024/"]


def test_plain_list():
    assert listing.parse_entries("20240101/\n20240102/\n") == ["20240101/", "20240102/"]


def test_a_large_listing_keeps_each_entry_once_in_order():
    html = "".join(f'<a href="build-{i}/">build-{i}/</a>\n' for i in range(50000))
    html += '<a href="build-7/">again</a><a href="build-0/">and again</a>'
    entries = listing.parse_entries(html)
    assert entries == [f"build-{i}/" for i in range(50000)]
