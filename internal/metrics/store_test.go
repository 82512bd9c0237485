package metrics

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"testing"

	"github.com/refreshing/refreshing"
)

// untimed are the Store methods the timing decorator passes through
// untimed, on purpose (see Metrics.Store).
var untimed = []string{
	"AddIdentity", "AdminByEmail", "AdminByID", "AdminSession", "AdminTokenByHash", "AdminTokens", "AppendAudit",
	"AuthRevision", "ClaimMail", "Client", "Close", "Code", "CountMail", "CountUsers", "CreateAdmin",
	"CreateAdminSession", "CreateAdminToken", "CreateClient", "DeleteAdmin", "DeleteAdminSession",
	"DeleteAdminSessions", "DeleteAdminToken", "DeleteAuditBefore", "DeleteClient", "DeleteCode", "DeleteRole", "EnqueueMail",
	"FindUsers", "FinishMail", "IdentityBySubject", "ListAdmins", "ListAudit", "ListClients", "ListMail",
	"PurgeMail", "PutCode", "RedeemCode", "RetryMail", "Roles", "SaveRole", "SearchUsers", "SessionWithUser",
	"SaveSignInProvider", "DeleteSignInProvider", "SignInProviders", "SetAdminPassword", "SetClientDPoP", "SetUsernameKey", "TouchAdminSession", "UserByUsernameKey", "UserIdentities", "UserStats",
	"UsersByID", "UsersWithoutUsernameKey",
}

// TestStoreTimesOrListsEveryMethod makes passing a Store method through
// untimed a decision: the decorator embeds refreshing.Store, so a method
// added to the interface would otherwise go untimed without anyone noticing.
// Every method must be either declared on *store in store.go or listed in
// untimed, and not both.
func TestStoreTimesOrListsEveryMethod(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "store.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	timed := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil {
			continue
		}
		if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
			if id, ok := star.X.(*ast.Ident); ok && id.Name == "store" {
				timed[fn.Name.Name] = true
			}
		}
	}
	passed := map[string]bool{}
	for _, name := range untimed {
		passed[name] = true
	}
	iface := reflect.TypeFor[refreshing.Store]()
	declared := map[string]bool{}
	for i := range iface.NumMethod() {
		name := iface.Method(i).Name
		declared[name] = true
		if timed[name] == passed[name] {
			t.Errorf("Store.%s: time it in store.go or list it in untimed (timed: %v, listed: %v)", name, timed[name], passed[name])
		}
	}
	for _, name := range untimed {
		if !declared[name] {
			t.Errorf("untimed lists %s, which refreshing.Store does not have", name)
		}
	}
}
