# Sourced by the logon tests: a test user "smsstest" (uid 4242) with a known password,
# visible only in the caller's own mount namespace (temporary copies of /etc/passwd,
# /etc/shadow and /etc/group bind-mounted over the host's). The caller must already run
# under `unshare -m`. make_test_user DIR: sets $password and $test_home; returns 1 (with
# $why) when it cannot.
make_test_user() {
    password='Sm5s-test-pw'
    if command -v openssl >/dev/null 2>&1; then
        hash=$(openssl passwd -6 "$password")
    elif command -v mkpasswd >/dev/null 2>&1; then
        hash=$(mkpasswd -m sha-512 "$password")
    else
        why="no openssl or mkpasswd to hash the test password (tools/install-deps)"
        return 1
    fi
    test_home="$1/home"
    mkdir -p "$1/etc" "$test_home"
    cp /etc/passwd /etc/shadow /etc/group "$1/etc/"
    echo "smsstest:x:4242:4242:smss test user:$test_home:/bin/bash" >>"$1/etc/passwd"
    echo "smsstest:$hash:19000:0:99999:7:::" >>"$1/etc/shadow"
    echo "smsstest:x:4242:" >>"$1/etc/group"
    chown 4242:4242 "$test_home"
    for f in passwd shadow group; do
        mount --bind "$1/etc/$f" "/etc/$f" || { why="cannot bind-mount /etc/$f"; return 1; }
    done
}
