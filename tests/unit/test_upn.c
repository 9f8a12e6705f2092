/* UPN check letters (DfE rule: weights 2..13, modulo 23, no I/O/S) and the pupil
 * reference rule: a UPN-shaped reference must pass its check letter; anything else must
 * be an opaque id of 1..64 of [A-Za-z0-9_-]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "upn.h"
#include "util.h"

static void test_published_examples(void **state)
{
    (void)state;
    /* python-stdnum gb.upn documentation: B801200005001 valid, A801200005001 not (this is
     * also the pupil of the SPEC section 11 progress example). */
    assert_true(upn_valid("B801200005001"));
    assert_false(upn_valid("A801200005001"));
    assert_int_equal(upn_check_letter("A801200005001"), 'B');
    /* Census error 1510 guidance: B207000016049 is wrong; its digits sum to 266 and
     * 266 mod 23 = 13 = P (the guidance's "267 -> Q" is an arithmetic slip). */
    assert_false(upn_valid("B207000016049"));
    assert_int_equal(upn_check_letter("B207000016049"), 'P');
    assert_true(upn_valid("P207000016049"));
    assert_false(upn_valid("Q207000016049"));
}

static void test_computed_examples(void **state)
{
    (void)state;
    /* Worked by hand: 9*2+3*3+5*4+4*5+0*6+1*7+1*8+2*9+3*10+4*11+5*12+6*13 = 312;
     * 312 mod 23 = 13 -> P. */
    assert_true(upn_valid("P935401123456"));
    /* All zeros: sum 0 -> A. All nines: 9 * (2+...+13) = 9 * 90 = 810; 810 mod 23 = 5 -> F. */
    assert_true(upn_valid("A000000000000"));
    assert_true(upn_valid("F999999999999"));
    assert_false(upn_valid("E999999999999"));
    /* Temporary UPNs: the final letter counts as its table value (A=0 ... Z=22).
     * 8*2+1*4+2*5+5*10 = 80, + A(0)*13 = 80 -> 80 mod 23 = 11 -> M;
     * + Z(22)*13 = 366 -> 366 mod 23 = 21 -> Y. */
    assert_true(upn_valid("M80120000500A"));
    assert_true(upn_valid("Y80120000500Z"));
    assert_false(upn_valid("M80120000500B"));
    /* Every check letter is reachable and none is I, O or S. */
    char seen[26] = {0};
    char u[14] = "?000000000000";
    for (int v = 0; v < 400; v++) {
        u[10] = (char)('0' + v % 10);
        u[11] = (char)('0' + (v / 10) % 10);
        u[12] = (char)('0' + (v / 100) % 10);
        char c = upn_check_letter(u);
        assert_true(c >= 'A' && c <= 'Z');
        seen[c - 'A'] = 1;
    }
    assert_false(seen['I' - 'A'] || seen['O' - 'A'] || seen['S' - 'A']);
    int distinct = 0;
    for (int i = 0; i < 26; i++)
        distinct += seen[i];
    assert_int_equal(distinct, 23);
}

static void test_wrong_length_and_form(void **state)
{
    (void)state;
    assert_false(upn_valid("B80120000500"));   /* 12 */
    assert_false(upn_valid("B8012000050011")); /* 14 */
    assert_false(upn_valid(""));
    assert_false(upn_valid(NULL));
    assert_false(upn_valid("b801200005001")); /* UPNs are issued upper case */
    assert_false(upn_valid("B80120000A001")); /* letters only at the end */
    assert_false(upn_valid("180120000500A"));
    assert_false(upn_valid("I801200005001")); /* never a check letter */
    assert_false(upn_valid("X80120000500I")); /* never a final letter */
    assert_int_equal(upn_check_letter("B80120000500"), 0);
    assert_int_equal(upn_check_letter("B80120000A001"), 0);
    assert_true(upn_shaped("b801200005001", 13));
    assert_true(upn_shaped("X80120000500z", 13));
    assert_false(upn_shaped("B80120000500", 12));
    assert_false(upn_shaped("DEMO-10000100", 13));
}

static void ref_ok(const char *ref, const char *canon_want)
{
    char canon[PUPIL_REF_MAX + 1], msg[256] = "";
    assert_int_equal(pupil_ref_check(ref, strlen(ref), canon, msg, sizeof msg), PUPIL_REF_OK);
    assert_string_equal(canon, canon_want);
}

static void ref_bad(const char *ref, size_t len, enum pupil_ref_status want, const char *msg_want)
{
    char canon[PUPIL_REF_MAX + 1], msg[256] = "";
    assert_int_equal(pupil_ref_check(ref, len, canon, msg, sizeof msg), want);
    assert_string_equal(msg, msg_want);
}

static void test_pupil_reference_rule(void **state)
{
    (void)state;
    ref_ok("B801200005001", "B801200005001");
    ref_ok("b801200005001", "B801200005001"); /* one pupil, however the MIS cased it */
    ref_ok("m80120000500a", "M80120000500A");
    ref_ok("DEMO-100001-0001", "DEMO-100001-0001"); /* opaque ids are kept as sent */
    ref_ok("adm_2024_0042", "adm_2024_0042");
    ref_ok("7", "7");
    ref_ok("B80120000500", "B80120000500"); /* 12 characters: not UPN-shaped, an opaque id */
    char max[PUPIL_REF_MAX + 2];
    memset(max, 'x', PUPIL_REF_MAX);
    max[PUPIL_REF_MAX] = '\0';
    ref_ok(max, max);
    ref_bad("A801200005001", 13, PUPIL_REF_BAD_UPN,
            "pupil looks like a UPN but fails the UPN check letter test (its digits give B, "
            "not A): a character is mistyped");
    ref_bad("X80120000500O", 13, PUPIL_REF_BAD_UPN,
            "pupil looks like a temporary UPN but ends in O; I, O and S are never used there");
    max[PUPIL_REF_MAX] = 'x';
    max[PUPIL_REF_MAX + 1] = '\0';
    ref_bad(max, PUPIL_REF_MAX + 1, PUPIL_REF_BAD_FORM,
            "pupil must be a UPN or the school's own id of 1 to 64 characters");
    ref_bad("", 0, PUPIL_REF_BAD_FORM,
            "pupil must be a UPN or the school's own id of 1 to 64 characters");
    ref_bad("ab c", 4, PUPIL_REF_BAD_FORM,
            "pupil must be a UPN or the school's own id made of letters, digits, '_' and '-' "
            "(character 3 is not)");
    ref_bad("\xc3\xa9t\xc3\xa9", 5, PUPIL_REF_BAD_FORM,
            "pupil must be a UPN or the school's own id made of letters, digits, '_' and '-' "
            "(character 1 is not)");
    ref_bad("ab\0c", 4, PUPIL_REF_BAD_FORM,
            "pupil must be a UPN or the school's own id made of letters, digits, '_' and '-' "
            "(character 3 is not)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_examples),
        cmocka_unit_test(test_computed_examples),
        cmocka_unit_test(test_wrong_length_and_form),
        cmocka_unit_test(test_pupil_reference_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
