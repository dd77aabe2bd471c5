/* Authentication through the real PAM stack: the service named by Linux\PamService, the
 * configuration directory SMSS_PAM_CONFDIR when set (pam_start_confdir), else the system's. */
#include "winlogon.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The conversation: prompts on the terminal, messages written to it. */
static int conversation(int n, const struct pam_message **msg, struct pam_response **resp,
                        void *data)
{
    struct winlogon *w = data;
    struct pam_response *r = calloc((size_t)n, sizeof *r);
    if (!r)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        int style = msg[i]->msg_style;
        if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
            if (term_read_line(w, msg[i]->msg, style == PAM_PROMPT_ECHO_ON, &r[i].resp) !=
                READ_LINE) {
                for (int j = 0; j < i; j++) {
                    if (r[j].resp)
                        explicit_bzero(r[j].resp, strlen(r[j].resp));
                    free(r[j].resp);
                }
                free(r);
                return PAM_CONV_ERR;
            }
        } else if (style == PAM_ERROR_MSG || style == PAM_TEXT_INFO) {
            term_write(w, msg[i]->msg);
            term_write(w, "\n");
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static int start_pam(struct winlogon *w, const char *user)
{
    struct pam_conv conv = {conversation, w};
    const char *service = w->c->pam_service ? w->c->pam_service : "smss-winlogon";
    int rc = w->pam_confdir ? pam_start_confdir(service, user, &conv, w->pam_confdir, &w->pamh)
                            : pam_start(service, user, &conv, &w->pamh);
    if (rc != PAM_SUCCESS) {
        log_error("pam_start(\"%s\"%s%s): %s; check the PAM configuration of the service",
                  service, w->pam_confdir ? ", " : "", w->pam_confdir ? w->pam_confdir : "",
                  pam_strerror(w->pamh, rc));
        if (w->pamh)
            pam_end(w->pamh, rc);
        w->pamh = NULL;
        return -1;
    }
    pam_set_item(w->pamh, PAM_TTY, w->terminal);
    return 0;
}

static void end_pam(struct winlogon *w, int rc)
{
    if (w->pamh)
        pam_end(w->pamh, rc);
    w->pamh = NULL;
}

/* Account management (an expired password is changed through the conversation), then
 * credentials and the session, then the user's programs. */
static enum logon_result establish(struct winlogon *w)
{
    int rc = pam_acct_mgmt(w->pamh, 0);
    if (rc == PAM_NEW_AUTHTOK_REQD)
        rc = pam_chauthtok(w->pamh, PAM_CHANGE_EXPIRED_AUTHTOK);
    const void *item = NULL;
    pam_get_item(w->pamh, PAM_USER, &item); /* a module may have mapped the name */
    const char *user = item ? item : "";
    if (rc != PAM_SUCCESS) {
        log_warning("logon of \"%s\" refused by account management: %s", user,
                    pam_strerror(w->pamh, rc));
        if (!w->terminate)
            term_write(w, "Logon failure: the account may not log on now.\n");
        end_pam(w, rc);
        return w->terminate ? LOGON_TERMINATE : LOGON_RETRY;
    }
    if (!getpwnam(user)) {
        log_error("\"%s\" passed PAM but has no passwd entry", user);
        end_pam(w, PAM_USER_UNKNOWN);
        return LOGON_RETRY;
    }
    if ((rc = pam_setcred(w->pamh, PAM_ESTABLISH_CRED)) != PAM_SUCCESS ||
        (w->cred_set = true, rc = pam_open_session(w->pamh, 0)) != PAM_SUCCESS) {
        log_error("logon of \"%s\": %s failed: %s", user,
                  w->cred_set ? "pam_open_session" : "pam_setcred", pam_strerror(w->pamh, rc));
        term_write(w, "Logon failure: the session could not be opened.\n");
        logon_close(w);
        return LOGON_RETRY;
    }
    w->session_open = true;
    /* Looked up again: the modules' own lookups (of root, say) reuse getpwnam's buffer. */
    struct passwd *pw = getpwnam(user);
    free(w->user);
    w->user = pw ? strdup(pw->pw_name) : NULL;
    if (!w->user || user_session_start(w, pw) < 0) {
        term_write(w, "Logon failure: the user's programs could not be started.\n");
        logon_close(w);
        return LOGON_RETRY;
    }
    return LOGON_OK;
}

enum logon_result logon_interactive(struct winlogon *w)
{
    char *name = NULL;
    int r = term_read_line(w, "login: ", true, &name);
    if (r != READ_LINE)
        return r == READ_TERMINATE ? LOGON_TERMINATE : LOGON_RETRY;
    if (!name[0]) {
        free(name);
        return LOGON_RETRY;
    }
    if (start_pam(w, name) < 0) {
        free(name);
        wait_serving_signals(w, 1000);
        return w->terminate ? LOGON_TERMINATE : LOGON_RETRY;
    }
    /* A failure costs at least a second, whatever the stack asks (it may ask more). */
    pam_fail_delay(w->pamh, 1000000);
    int rc = pam_authenticate(w->pamh, 0);
    if (w->terminate) {
        free(name);
        end_pam(w, rc);
        return LOGON_TERMINATE;
    }
    if (rc != PAM_SUCCESS) {
        log_warning("logon failure for \"%s\" on %s: %s", name, w->terminal,
                    pam_strerror(w->pamh, rc));
        free(name);
        end_pam(w, rc);
        if (rc != PAM_CONV_ERR) /* not an interrupted prompt */
            term_write(w, LOGON_FAILURE_TEXT "\n");
        return LOGON_RETRY;
    }
    free(name);
    return establish(w);
}

/* AutoAdminLogon: no authentication (nobody is asked for a password), but the account
 * and session management of the stack still decide and prepare the logon. */
enum logon_result logon_automatic(struct winlogon *w, const char *user)
{
    log_info("automatic logon of \"%s\" (AutoAdminLogon)", user);
    if (start_pam(w, user) < 0)
        return LOGON_RETRY;
    return establish(w);
}

void logon_close(struct winlogon *w)
{
    if (!w->pamh)
        return;
    int rc = PAM_SUCCESS;
    if (w->session_open && (rc = pam_close_session(w->pamh, 0)) != PAM_SUCCESS)
        log_warning("pam_close_session: %s", pam_strerror(w->pamh, rc));
    if (w->cred_set && (rc = pam_setcred(w->pamh, PAM_DELETE_CRED)) != PAM_SUCCESS)
        log_warning("pam_setcred(PAM_DELETE_CRED): %s", pam_strerror(w->pamh, rc));
    w->session_open = w->cred_set = false;
    end_pam(w, rc);
}
